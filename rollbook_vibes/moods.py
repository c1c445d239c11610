"""The moods the Vibes app offers: journal_mood's labels (revision 0005), in their order."""

MOODS = ("happy", "calm", "grateful", "tired", "anxious", "sad", "excited")
