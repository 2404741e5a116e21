"""Reading what users bring: records from files, folders and Hugging Face datasets (``records``,
``hub``), one input row's fields, ids and rejects (``rows``), problems with their field-mapping
presets (``problems``), and ready-made step-by-step responses with human labels (``importers``,
``presets``)."""
