"""The repository's tools behind the Makefile (install, bring-your-own environment, wheelhouse, demo, chat, sweep,
vLLM server, launch checks, the tiny Qwen3). Not part of the installed package: each runs from the repository root
as ``python -m scripts.<name>`` (the Makefile's calls), so that they import the project's packages without editing
``sys.path``.
"""
