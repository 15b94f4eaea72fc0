"""Training provenance: how a run was started (recipe, overrides, commit, versions, hardware), recorded when it
starts and read back by the reports' run cards. Below every training and scoring package: ``make train`` runs it,
:mod:`encoder_ner` and the report (``eval.run_card``) import it; it imports only :mod:`cluener`.

- ``run_record``  ``python -m provenance.run_record RECIPE_YAML [key=value ...]``: ``<output_dir>/run_command.json``
"""
