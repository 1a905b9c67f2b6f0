"""Developer tools that need a source checkout: `make demo`, sample data, by-hand files. Never in the image."""
