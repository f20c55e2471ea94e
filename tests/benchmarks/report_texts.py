"""docs/performance.md's prose: what makes eoscatalog fast, the measurements made by hand that
reruns keep (verified ranged reads, imports, small files), and what limits a missed target."""

DESIGN = """\
## What makes it fast

- **Hashing reads no byte into Python.** A large file is hashed through memory maps, 32 MiB at
  a time, with BLAKE3's tree hashing on every core (`eoscatalog.core.hashing.hash_file`); reading
  chunks into a buffer costs a copy that, on 2 cores, competes with the hashing threads. Like
  `b3sum`, a file cut short by another program while it is mapped can stop the process;
  `EOS_HASH_MMAP=0` reads in chunks instead.
- **Each file is hashed once.** The hash cache keys on (device, inode, size, mtime, ctime), so
  an unchanged file costs one `stat` (a folder's entries come back in one query). A file hashed
  while quiet (unchanged for 2 s) is not hashed again by its upload when it is still in the
  same state (device, inode, size, mtime, ctime) after the upload read it; a change is
  refused. On 2 cores, where the client and the S3 server share the CPU, the second hash cost
  10-25% of an upload's time.
- **The local store copies in the kernel.** `copy_file_range` (then `sendfile`) moves the bytes;
  a copy that still needs checking is hashed from the page cache while `fsync` writes it out.
- **S3 transfers are parallel both ways.** Uploads above 16 MiB go as multipart uploads of
  8 MiB parts, 8 at a time, each with its CRC32 (checked by the server as it lands, and cheap
  to combine at completion); downloads above one part go as ranged GETs, 8 at a time, all pinned
  to the first answer's ETag and written at their offsets, in parts that grow (8, 16, 24,
  then 32 MiB) so that they finish about in order. A thread hashes the file in order while
  the parts arrive (`core/ordered_hasher.py`: each run of bytes read back from the file as
  soon as every byte before it is there), so when the last part lands little is left to
  hash; the file is renamed into place only if all its bytes hash to the blob's key. A get to
  a path writes the bytes once, into a temp file beside it, not into the cache and then a
  copy; cache entries are written out to disk in the background (so their fsync finds little
  left). In-flight memory is bounded by 8 parts.
- **One request per small new blob, none for a known one.** A blob of up to 1 MiB the catalog
  does not know is sent as one PUT with `If-None-Match: *` (a 412 is the dedup: it was already
  there); larger blobs and blobs the catalog names are looked for first, so their bytes are
  never sent twice. The conditional-write probe runs only when something is to be written, so
  an unchanged sync makes exactly one request (the LIST of the log) and writes nothing.
- **A small blob's PUT or GET is not a botocore API call.** botocore spends about 1 ms of CPU
  around each request (parameter validation, endpoint rules, a dozen events, serialising,
  parsing) and turns every `PutObject` body into a file, for which it sends
  `Expect: 100-continue` and waits for the interim answer: a round trip more per object. A
  blob of up to 1 MiB goes up as `DirectPut`'s one PUT with `If-None-Match: *` and comes down
  as `DirectGet`'s one GET, read whole, hashed in memory, then written beside its target and
  renamed. Both send through `BucketRequests` (`store/s3/direct_bucket.py`): signed by
  `SigV4Signer` (the signature botocore computes, payload hash included, its signing key
  derived once a day rather than per request), sent on the connection pool botocore keeps for
  the bucket's host (found once, not per request), retried by the client's `RetryPolicy` and
  failing with botocore's exceptions and the client's messages. Small files go 16 at a time,
  both ways; a sync passes the versions it listed, so nothing is looked up per file.
- **The index is SQL, not Python.** Replay inserts with `executemany`, checks version numbers
  one query per 500 names, a write plans against and reads back its versions in two queries
  per 500 names (`Index.records_of`), and a changeset's JSON is written without deep copies. Pinned
  references (`@N`, `@blake3:`) are answered from the index with no request; `latest` costs one
  LIST; `ls` is a range scan of the derived `names` table.
- **Start-up is lazy.** botocore is imported only when S3 is used (an S3 store, an `s3://`
  source), never by `import eoscatalog`, `eos --version` or commands on a local store. On S3
  the botocore client is built on the first request that needs it: the LIST of the catalog log
  goes without it where it can be sent exactly as botocore would (`store/s3/plain_list.py`:
  an explicit endpoint, path addressing, credentials from the environment, no proxy), so an
  unchanged sync never builds it. The File API and the table diffs load on first use;
  sqlite-utils is imported without pandas and numpy.
- **A dataset is one changeset, and concurrent writes share them.** In a transaction a Zarr
  chunk costs its blob's PUT and nothing else until the one commit at the end; without one,
  writes queued behind a commit share the next changeset (group commit), a leader waits up to
  50 ms for writes of its process still storing their blobs, and a commit after the writer's
  own skips the LIST of the log (three round trips become two). `eos://` stays synchronous:
  zarr 3 wraps it in fsspec's `AsyncFileSystemWrapper` (a thread per call), and so wrapped it
  writes the Zarr store as fast as s3fs, a natively asynchronous filesystem, on the same server
  (the Zarr rows): an async `eos://` over botocore, which is synchronous, would run its
  requests on threads all the same.
- **A folder version is a query, not a copy.** The folder rows read a folder of 100,000 names
  with 20 versions (`ds/`, 1,000 sub-folders; version 1 one changeset of 100,000 entries,
  each later one changing 2% of the names, adding 0.2% and deleting 0.1%; folder tag `paper`
  on version 10). Nothing is stored per folder version: which changesets are its versions,
  and each name's version in one of them, are read from the index. An index on the versions'
  (namespace, name, version, seq, kind, size) answers those reads without touching the
  table's rows; a non-recursive `ls` groups the sub-folders in SQL (1,000 rows, not 100,000
  records); a folder's list of versions is remembered until the index changes, so reading
  a name in a folder version (`ds@10/d0004/f0000401.csv`, what a Zarr reader of a version
  does for every chunk) costs one primary-key lookup. Before these, on the same data: `ls` of
  the top at a version took 5 s, of a 100-name sub-folder 0.4-0.75 s (SQLite scanned the
  whole namespace to join each name's newest version), and each name read in a version
  0.1-0.6 s.
"""

# Measured by hand with tests/benchmarks/ranged_cost.py, not by this run: kept across reruns.
RANGED = """
## Verified ranged reads

Every range fsspec reads is checked before it is returned (docs/reliability.md, "Verified
ranged reads"). A blob up to 4 MiB is read whole for any range (at most 4 MiB, hashed in about
a millisecond); a larger one is read in whole 256 KiB chunks of its outboard, 32 bytes per
chunk (13 KB for 100 MiB). Measured with `python tests/benchmarks/ranged_cost.py` (the S3 test
server, one 100 MiB blob of random bytes; not part of the run above):

| a 64 KiB footer read of a 100 MiB blob | blob bytes fetched | requests |
|---|---|---|
| unverified, as before | 64 KiB | 1 GET |
| `cat_file(start=-65536)`, first in a process | 256 KiB + the 12,998-byte outboard | 2 GETs |
| `open`, `seek`, `read(65536)`, outboard already read | 256 KiB | 1 GET |
| no outboard yet (stored before), first read | 100 MiB, verified, cached | 13 GETs, 1 PUT |

Uploads of blobs over 4 MiB pay one more PUT (the outboard, 0.012% of the blob's size) and one
more pass of chunk hashing over bytes already in memory or the page cache: 30-78 ms per
100 MiB for the local store (the stored copy, memory-mapped) and 77-92 ms per 100 MiB on the
S3 multipart path (on the thread that reads the parts), the spread being the shared 2-core
machine. Outboards found good are remembered per process, so later ranges of the same blob
cost only their chunks.
"""

# Measured by hand (the code before and after botocore became lazy, in alternation): kept.
IMPORTS = """
## Imports: S3 only when S3 is used

`import eoscatalog` used to import botocore and urllib3 (the store package imported `S3Store`,
and the settings imported the S3 retry module), so every command paid for S3, even
`eos --version` and `eos ls` on the embedded store. Now botocore is imported by the S3 client
(`store/s3/client.py`) when an S3 store or an `s3://` source is first used, and `S3Store` is
loaded by `eoscatalog` and `eoscatalog.store` on first use (`tests/test_lazy_imports.py`
checks that nothing else loads it). Measured on the 2-core machine above, the code before and
after the change run in alternation, median of 21 runs each (a bare `python -c pass` takes
36 ms):

| | before | after |
|---|---|---|
| `python -c "import eoscatalog"` | 273 ms | 218 ms |
| `python -m eoscatalog --version` | 299 ms | 248 ms |
| eoscatalog's cumulative time in `python -X importtime -c "import eoscatalog"` | 217 ms | 173 ms |

A command on S3 imports botocore as before, on its first S3 request's path, so its start-up is
unchanged. What `import eoscatalog` still costs is mostly sqlite-utils (57 ms) and the
catalog's own modules.
"""

# What limits a target when a run misses it, as measured with stage timers and profiles on the
# machine this file was last written on (2 cores). Shown only for rows that say "no".
LIMITS = {
    "get a ": (
        "The shared cache. eoscatalog's parallel ranged GETs move the bytes as fast as "
        "boto3's, and the whole file is hashed before it is renamed into place; with no cache "
        "that is all a get does (its figure is in the details; the whole-file hash, which "
        "boto3 does not do, is 0.13-0.15 s of it per GiB, stage timers). With the cache, "
        "which keeps the verified blob for every later read on the machine, the bytes are "
        "written twice: into the cache, then copied out to the path (this file system has no "
        "reflinks; on XFS or btrfs the copy is a clone). The difference between the two "
        "eoscatalog figures is that second write."
    ),
    "`eos get`": (
        "As for the in-process get: the copy out of the shared cache (no reflinks on this "
        "file system) is the difference; both commands pay an interpreter's start."
    ),
    "put a ": (
        "The server is the bottleneck: moto needs about 2.6-4 s of the total to complete a "
        "1 GiB multipart upload, and it shares the 2 cores with the client. eoscatalog hashes "
        "the file once before it sends it (0.13-0.2 s for 1 GiB: the key must be known "
        "first), asks whether the blob exists (one HEAD) and writes a changeset; run to run "
        "the two tools' times vary by more than that."
    ),
    "`eos put`": (
        "As for the in-process put: the hash that names the blob before it is sent, the "
        "HEAD, the conditional-write probe (three small requests on a process's first "
        "write) and the changeset; the server's time dominates both."
    ),
    "nothing changed": (
        "The sync itself does nothing: 0 files hashed, 0 uploads, 1 request (the LIST of the "
        "log, sent without building the botocore client). What is left, by the sampling "
        "profile of the same command in the SeaweedFS table: Python's start and the imports "
        "(about a third: eoscatalog's modules, sqlite-utils, yaml, click), reading the latest "
        "10,000 versions from the index into records (about 29%) and scanning the folder "
        "(about 18%). 0.1x of aws s3 sync's 3.1 s is 0.31 s, about what the interpreter and "
        "the imports alone cost."
    ),
    "Zarr store to S3 without a transaction": (
        "One changeset per object (628), and threads of one process commit to a namespace one "
        "at a time (log/replay.py holds a lock per namespace), each commit three round trips "
        "in turn: the LIST of the log (6.9 ms on the unloaded machine), the conditional PUT "
        "of the changeset (7.2 ms) and a HEAD of it for the store's write time (4.4 ms). "
        "Timers around eoscatalog's steps, machine unloaded: 19.5 ms a commit, 12.2 s of "
        "commits one after another in a 13.5 s write; the chunk PUTs run in parallel and cost "
        "what s3fs's do. What removes it: a transaction (one changeset: the first Zarr row), "
        "or group commit (concurrent writes sharing changesets, being built). A commit on the "
        "seq this process has just written could also skip the LIST (an append that lost a "
        "race is refused by the store and replayed, as now): one round trip of three."
    ),
    "Zarr store to the local store": (
        "Durability per chunk: each chunk's blob goes to a temporary file that is fsynced and "
        "linked into place (1.5-1.7 ms a chunk, 628 of them, on dask's 2 threads), where the "
        "peer writes 625 files and syncs once. Measured apart on the unloaded machine: 1.25x "
        "and 1.68x (1.69 s against 1.35 s, 1.83 s against 1.09 s); this run's load average "
        "was about 5.5 on 2 cores (notes below)."
    ),
}

# Measured by hand while the small-file paths were reworked (client CPU, the code before and
# after in alternation on the same SeaweedFS): kept across reruns.
SMALL_FILES = """
## Where the time goes: small files, a large get

Measured on SeaweedFS (`weed server -s3` on 127.0.0.1, the same 2 cores) as client CPU time
(user + system of the `eos` process, from `wait4`), the code before and after each change run
in alternation against one server; wall-clock on the shared machine varied up to 3x between
runs, so the per-server tables above are the figures to compare with the peers.

- **Upload** (`eos sync dir eos://org/p/`, first time). Through botocore's `PutObject`,
  3.3-4.0 s of CPU for 2,000 files (1.6-2 ms a file, 70% of it botocore's API call). With
  `DirectPut`, about 1.9 s. Then: the signing key derived once a day instead of per request
  (signing 0.5 ms to 0.03-0.05 ms a request), the bucket's connection pool found once instead
  of per request by botocore's session (0.84 to 0.69 ms a send), a write's versions planned
  and read back in two queries per 500 names instead of two or three queries per name, one
  `stat` per file and permissions checked once per namespace: 10,000 files went from 13.2-17.4
  s to 10.3-10.5 s of CPU (s5cmd 18.6-21.1 s in the same runs, its 256 workers on 2 cores).
  What is left is mostly the HTTP exchange itself (urllib3 and `http.client`, about 70% of
  the client's CPU: `http.client` alone costs 0.3-0.4 ms a request).
- **Download** (`eos sync eos://org/p/ dir` from a fresh home). Each file was a botocore
  `GetObject` written into the cache and then copied to its target: 17.2-25.5 s of CPU for
  10,000 files. Now one direct GET a file, read whole, hashed in memory and written beside its
  target, the versions passed from the listing (no lookup per file) and the hash cache written
  in one transaction: 9.5-14.9 s (s5cmd 16.0-23.1 s in the same runs). A single 30 KB blob:
  2.1-2.6 ms of CPU before, 1.35 ms after, and about 0.4 ms once GETs were signed and sent as
  PUTs are. Start-up and replaying the index from a fresh home cost 1.6 s of it at 10,000
  files.
- **Unchanged re-sync** (10,000 files, the home of the first sync): 0.73 s of CPU before,
  0.47 s after (11 runs each; s5cmd 1.30 s, `aws s3 sync` 2.00 s), 0 files hashed, 1 request.
  The LIST of the log goes without building the botocore client (0.1 s) or importing its HTTP
  stack (0.1 s); the latest versions come from one query of named columns, no dict per row;
  the hash cache compares stat fields without objects. What is left: the interpreter (about
  60 ms), imports (130-160 ms: sqlite-utils 40-50 ms, yaml, click, eoscatalog's modules) and
  about 0.18 s of work (scan 60 ms, the LIST 75 ms, the hash-cache lookup 40 ms, the plan
  15 ms).
- **A 1 GiB get** (`eos get`, SeaweedFS, measured by hand on the machine while it was shared,
  11 alternating runs): s5cmd 0.98 s wall and about 0.6 s of CPU; eos 1.75 s and 1.2-1.3 s of
  CPU, before and after hashing in order while the parts arrive (the hash left after the last
  part went from 0.15-0.9 s to 0-0.16 s, but on 2 cores shared with the server the get is
  CPU-bound, so overlapping moved the work rather than removing it). Where eos's CPU goes, per
  GiB: Python's start and imports 0.25-0.4 s, the bytes copied through user space (socket
  read, then the file write; s5cmd makes the same two copies) 0.6-0.8 s, BLAKE3 0.2-0.3 s,
  the interpreter's exit about 0.1 s. What would remove most of it: moving the body from the
  socket to the file in the kernel (`os.splice`, plain HTTP only: the hash already reads the
  bytes back from the file), and reading into reused buffers rather than a new 1 MiB object
  per read.
"""
