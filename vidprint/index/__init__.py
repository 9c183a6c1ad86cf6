"""The fingerprint index: the HDF5 store a platform queries for every upload.

>>> from vidprint.index import Index
>>> with Index.create("known") as ix:                      # doctest: +SKIP
...     ix.add_many(vidprint.fingerprint(p) for p in paths)
>>> with Index.open("known") as ix:                        # doctest: +SKIP
...     for m in ix.query(vidprint.fingerprint("upload.mp4")):
...         print(m.id, m.kind, m.decided_by)

Crash-safety design
-------------------
An index is a folder::

    MANIFEST.json         the committed state: segment files, their sizes and sha256, tombstones
    seg-<gen>-<rand>.h5   immutable HDF5 segments, one per committed batch (or per compaction)
    LOCK                  the writer lock (flock) with the writer's pid

* **Commit** (``add``, ``add_many``, ``remove``, ``compact``): the new segment is written under a
  temporary name, fsynced and renamed; then the manifest is written to a temporary file, fsynced,
  renamed over ``MANIFEST.json`` and the folder is fsynced. The rename of the manifest is the commit
  point: a writer killed (SIGKILL) at any instant leaves either the old manifest (the batch is wholly
  absent; its segment, if any, is an orphan that the next writer deletes) or the new one (the batch is
  wholly present). HDF5 files are never modified after they are committed, so a kill in the middle of
  an HDF5 write can only damage an orphan.
* **Deletes** are tombstones in the manifest (``id -> generation``) applied when a snapshot is
  loaded: an entry is dead if its id has a tombstone at or after its segment's generation (so an id
  can be added again after its removal). ``compact()`` writes the live entries into one new segment,
  commits a manifest listing only it (no tombstones), then deletes the old files.
* **One writer**: ``Index.open(path, "a")`` takes an exclusive ``flock`` on ``LOCK``; a second writer
  gets :class:`~vidprint.errors.IndexLockedError` with the holder's pid. The kernel releases the lock
  when the holder dies, so a dead writer's lock is taken over without any cleanup.
* **Readers** load one manifest and open its segments: a consistent snapshot, whatever the writer
  does meanwhile (segments are immutable; a reader that finds a segment deleted by a concurrent
  compaction reads the newer manifest). :meth:`Index.refresh` moves to the latest commit.
* **Damage**: the manifest carries its own sha256; each segment's size, layout, dtypes and the sha256
  of every dataset loaded at open are checked against the manifest, per-entry blobs (level 2, the
  reference descriptor, metadata) against a crc32 when read, and the whole file's sha256 at open up
  to 1 GiB of segments (``verify="full"`` always, :meth:`Index.verify`). Anything wrong raises
  :class:`~vidprint.errors.IndexStoreError` naming the file and what is wrong.

Queries
-------
Segments are independent: a query is a map over segments (level-1 scan, range search:
:meth:`Index.whole_candidates`, :meth:`Index.clip_candidates`) and a merge (confirmation of each
candidate with :func:`vidprint.matching.whole_evidence` / :func:`vidprint.matching.clip_evidence`, the
functions :func:`vidprint.compare` uses, so both give a pair the same verdict). The map step can be
fanned out to Dask workers, one segment each.

* Whole video: level-1 cosine of the query against every stored descriptor (the compact profile's
  dense ``int8[N, 128]`` matrix, else the reference averages), then level 2 only on the survivors.
  The content-area view (letterbox / pillarbox bars cut, ``Thresholds.bars``): the query's
  content-area descriptor is also scanned against a second, small matrix holding only the entries
  whose content area differs from their whole frame (and against the compact matrix when the query
  itself has bars); confirmation takes the better view, as :func:`vidprint.compare` does.
* Clip: exact range search (radius 31, quality >= 50 on both sides) of the query's frame hashes over
  every indexed frame hash (:mod:`vidprint.index.hamming`: multi-index hashing, equal to brute force),
  then temporal alignment of each candidate video. Each segment's multi-index is built in memory by
  the first clip query, or up front by :meth:`Index.warm` (a service calls it once after opening).
  Hash the query every frame: against an index hashed at one frame per second, clip recall then does
  not depend on the sampling phase (docs/index.md has the measurements).
* :meth:`Index.query_many` scans the compact level-1 matrix once for a whole batch of queries
  (:mod:`vidprint.index.prefilter`).
"""
from vidprint.matching import ClipEvidence, Thresholds, WholeEvidence
from vidprint.index.hamming import HashTable
from vidprint.index.match import Match
from vidprint.index.store import Entry, Index

__all__ = ["ClipEvidence", "Entry", "HashTable", "Index", "Match", "Thresholds", "WholeEvidence"]
