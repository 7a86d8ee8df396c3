"""Synthetic catalogue for the search benchmark: realistic names, types, versions and READMEs,
written straight into the database in bulk (executemany on SQLite, COPY on PostgreSQL).

Everything is a pure function of the artifact's index, so the benchmark knows, without asking the
server, which names exist and which READMEs contain the rare words its regexes look for.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from tmr.storage.database import make_engine

ORGS = [
    "acme", "northwind", "contoso", "initech", "globex", "umbrella", "hooli", "vandelay",
    "stark", "wayne", "tyrell", "cyberdyne", "soylent", "aperture", "oscorp", "wonka",
]  # fmt: skip
FAMILIES = [
    "bert", "roberta", "llama", "mistral", "whisper", "vit", "clip", "t5", "gpt2", "phi",
    "qwen", "gemma", "falcon", "bloom", "opt", "deberta", "electra", "resnet", "yolo", "sam",
]  # fmt: skip
TASKS = [
    "base", "large", "small", "tiny", "instruct", "chat", "ner", "qa", "sentiment", "summarize",
    "translate", "detect", "segment", "embed", "rerank", "asr", "tts", "caption", "classify", "code",
]  # fmt: skip
COMMON = (  # noqa: SIM905 (a word list reads better as prose)
    "the a of and to in for with on by is are this that model dataset training evaluation benchmark "
    "accuracy tokenizer vision language speech audio classification generation retrieval embedding "
    "quantized license weights safetensors pytorch inference latency checkpoint multilingual "
    "summarization translation detection segmentation diffusion adapter lora instruct chat fine-tuned "
    "we use our results table score baseline epoch batch learning rate optimizer warmup steps data "
    "split validation test train corpus english german french spanish chinese japanese tokens context "
    "length parameters layers heads hidden size precision fp16 bf16 int8 gpu memory throughput"
).split()
_SYLLABLES = "ka ra mo ti lu ne so ve pa zi do ru fe la qu xi ba no he mi ga to wu yo".split()  # noqa: SIM905
TYPES = ("model", "model", "model", "dataset", "dataset", "code")  # 50 % models, 33 % datasets, 17 % code
PAGE_WORDS = 12  # words per sentence in the fragment pool


def _rare_vocabulary(count: int) -> list[str]:
    """Invented words (3-4 syllables): each rare in the corpus, so regexes have selective literals."""
    rng = random.Random(11)
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(3, 4))))
    return sorted(words)


RARE = _rare_vocabulary(20_000)


def _sentences(count: int) -> list[str]:
    rng = random.Random(12)
    return [
        " ".join(rng.choices(COMMON, k=rng.randint(6, PAGE_WORDS + 6))).capitalize() + "."
        for _ in range(count)
    ]


SENTENCES = _sentences(20_000)


def name_of(i: int) -> str:
    """Artifact `i`'s name: two consecutive indexes share a name (two versions of one artifact)."""
    group = i // 2
    return f"{ORGS[group % 16]}-{FAMILIES[group // 16 % 20]}-{TASKS[group // 320 % 20]}-{group}"


def type_of(i: int) -> str:
    return TYPES[(i // 2) % len(TYPES)]


def version_of(i: int) -> str:
    return f"1.{i % 2}.{(i // 2) % 7}"


def rare_words_of(i: int) -> list[str]:
    """The invented keywords of README `i` (three, so each word occurs in ~0.015 % of READMEs)."""
    rng = random.Random(i * 7919 + 1)
    return [RARE[rng.randrange(len(RARE))] for _ in range(3)]


def readme_of(i: int, rng: random.Random) -> str:
    """0.5-2 KB of model-card prose: YAML front matter, headings, sentences, a hex run id."""
    body = " ".join(rng.choices(SENTENCES, k=rng.randint(4, 12)))
    more = " ".join(rng.choices(SENTENCES, k=rng.randint(1, 5)))
    keywords = ", ".join(rare_words_of(i))
    return (
        f"---\nlicense: {rng.choice(['mit', 'apache-2.0', 'cc-by-4.0', 'bsd-3-clause'])}\n"
        f"tags: [{rng.choice(FAMILIES)}, {rng.choice(TASKS)}]\n---\n"
        f"# {name_of(i)}\n\n{body}\n\n## Training\n\n{more}\n\n"
        f"Keywords: {keywords}. Run id: {rng.getrandbits(32):08x}.\n"
    )


COLUMNS = (
    "id", "type", "name", "url", "source", "readme", "card", "license", "upstream", "version",
    "visibility", "notes", "size_bytes", "created_at", "created_by", "updated_at", "updated_by",
)  # fmt: skip


def rows(start: int, count: int, now: Any) -> Iterator[tuple[object, ...]]:
    """Rows for artifacts start..start+count-1; one in 50 is private to a user the benchmark
    never signs in as, so a non-admin listing has something to hide."""
    rng = random.Random(start * 31 + 5)
    for i in range(start, start + count):
        private = i % 50 == 49
        yield (
            f"9{i:012d}",
            type_of(i),
            name_of(i),
            f"https://example.com/bench/{i}",
            "url",
            readme_of(i, rng),
            "{}",
            "mit",
            "{}",
            version_of(i),
            "private" if private else "public",
            "[]",
            0,
            now,
            "someone-else" if private else "admin",
            now,
            "someone-else" if private else "admin",
        )


def seed(database_url: str, start: int, count: int, batch: int = 10_000) -> float:
    """Insert artifacts start..start+count-1 in batches of `batch`; seconds taken."""
    engine = make_engine(database_url)
    started = time.perf_counter()
    try:
        if engine.dialect.name == "sqlite":
            _seed_sqlite(engine, start, count, batch)
        else:
            _seed_postgres(engine, start, count)
    finally:
        engine.dispose()
    return time.perf_counter() - started


def _seed_sqlite(engine: Any, start: int, count: int, batch: int) -> None:
    # The text SQLAlchemy's SQLite DateTime stores (naive UTC), so rows read back like any other.
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    sql = f"INSERT INTO artifacts ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    with engine.begin() as conn:
        pending: list[tuple[object, ...]] = []
        for row in rows(start, count, now):
            pending.append(row)
            if len(pending) == batch:
                conn.exec_driver_sql(sql, pending)
                pending.clear()
        if pending:
            conn.exec_driver_sql(sql, pending)


def _seed_postgres(engine: Any, start: int, count: int) -> None:
    """COPY, with the trigram indexes dropped and rebuilt around it when the load is large
    (one index build is far cheaper than a million GIN insertions)."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        indexes = dict(
            conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'artifacts' "
                    "AND indexname LIKE '%trgm'"
                )
            ).all()
        )
        rebuild = count >= 50_000
        if rebuild:
            for name in indexes:
                conn.execute(text(f"DROP INDEX {name}"))
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY artifacts ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows(start, count, now):
                copy.write_row(row)
        if rebuild:
            conn.execute(text("SET maintenance_work_mem = '512MB'"))
            for definition in indexes.values():
                conn.execute(text(definition))
    # What autovacuum would have done long before anyone measured a registry of this size (left
    # to itself it starts during the measurements, and its scan of the table shows up in p99).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE artifacts"))
