"""Record linkage: find the same person or event across reports, scripts and spellings.

Splink does the probabilistic linkage (DuckDB here, Spark when one machine is not enough);
this package supplies the Korean-aware features and comparisons, training that needs no
labels, explanations, and identities built from accepted links (never merges).

Modules, by noun:

* ``features``: per-record keys (names in any script, uncertain dates, places, sex);
* ``comparisons``: the Splink comparisons over those keys;
* ``schema``: which fields a record type has (``PERSONS``) and the blocking rules;
* ``training``: unsupervised training and its corrections; ``model``: ``LinkageModel``,
  ``LinkageSettings``, ``dedupe``;
* ``clusters``: ``IdentityGraph`` (accept, reject, undo) and ``cluster_ids``;
* ``evaluate``: pairwise precision, recall and F1;
* ``plainfile``: the CSV mode's reader and writer; ``engines``: DuckDB and Spark.

``clusters`` and ``evaluate`` need nothing but the standard library (and scipy for
``cluster_ids``); the others need the ``linkage`` extra (``pip install 'sillok[linkage]'``).
"""
