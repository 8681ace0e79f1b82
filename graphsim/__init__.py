"""graphsim: a Microsoft Graph v1.0 tenant simulator (identity, users, mail) on loopback HTTPS.

Start it with `graphsim.process.start_simulator(state_dir, users=3, messages=20, seed=1, ...)` or
`python -m graphsim --state-dir DIR`; drive it with `graphsim.control.SimControl` (the /_sim control API).
"""
