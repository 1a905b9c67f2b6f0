"""Local-development entry point: `python main.py spec|check|discover|write ...` (`--help` lists them)."""

from destination_linkedin_capi.run import run

if __name__ == "__main__":
    run()
