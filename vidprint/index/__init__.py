"""The HDF5 fingerprint store (roadmap; not implemented yet).

Planned: crash-safe segments; TMK queries as a level-1 cosine prefilter
(:func:`vidprint.tmk.level1_many`, :func:`vidprint.tmk.compact_level1_many`) followed by level-2
confirmation; vPDQ queries as an exact multi-index Hamming range search followed by temporal
alignment (:func:`vidprint.vpdq.align`); deletes; import of shared hash lists.
"""
