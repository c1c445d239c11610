"""One module per check family: measurements in, CheckResults with evidence out.

Drills, checks/, `rollbook assess` and the CLI all call these; nothing else decides a verdict.
"""
