"""Settings: profiles (envs/*.toml) and the target they name, resolved once."""
