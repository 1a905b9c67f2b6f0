"""Local-development entry point: `python main.py spec|check|write ...`."""

from destination_linkedin_capi.run import run

if __name__ == "__main__":
    run()
