"""The jobs domain's actions; the API, the worker gate, the console and the CLI all call these."""
