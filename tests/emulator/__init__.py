"""Local emulator of the Hugging Face Hub and GitHub REST APIs, serving deterministic fixture repositories.

Use `tests.emulator.server.running_emulator()` in tests, or `python -m tests.emulator` for a separate process.
"""
