"""GcsBarHistory through the official google-cloud-storage client against a fake GCS JSON API
server on 127.0.0.1 (tests/integration/fake_gcs.py): exact round trips, idempotent writes,
day boundaries, last_time over paged listings, and generation-precondition races."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from shared.adapters.gcp.gcs_history import GcsBarHistory
from shared.contracts import Bar
from shared.errors import TransientError
from shared.ports import BarHistory
from tests.integration.fake_gcs import FakeGcs

pytestmark = pytest.mark.timeout(30)

BUCKET = "tw-history"
T0 = datetime(2024, 1, 1, 23, 50, tzinfo=UTC)
DAY1 = "history/binance/BTC-USDT/1m/2024-01-01.parquet"
DAY2 = "history/binance/BTC-USDT/1m/2024-01-02.parquet"


def bar(minute: int, close: str = "65000.123456789012345678", symbol: str = "BTC/USDT",
        timeframe: str = "1m") -> Bar:
    price = Decimal(close)
    return Bar(
        venue="binance", symbol=symbol, timeframe=timeframe, open_time=T0 + timedelta(minutes=minute),
        open=price, high=price + Decimal("0.50"), low=price - Decimal("0.000000000000000001"),
        close=price, volume=Decimal("0.00000001"), trades=minute,
    )


@pytest.fixture
def fake():
    server = FakeGcs().start()
    server.create_bucket(BUCKET)
    yield server
    server.stop()


def client_for(fake: FakeGcs) -> storage.Client:
    return storage.Client(project="tradewinds-test", credentials=AnonymousCredentials(),
                          client_options={"api_endpoint": fake.url})


def history_for(fake: FakeGcs, **kw) -> GcsBarHistory:
    return GcsBarHistory(BUCKET, client=client_for(fake), **kw)


def generation(fake: FakeGcs, name: str) -> int | None:
    blob = client_for(fake).bucket(BUCKET).get_blob(name)
    return None if blob is None else blob.generation


def test_round_trip_is_exact_and_writes_one_object_per_day(fake):
    history: BarHistory = history_for(fake)
    bars = [bar(m) for m in range(20)]                                  # 23:50 .. 00:09
    assert history.write(reversed(bars)) == 20
    back = history.read("binance", "BTC/USDT", T0, T0 + timedelta(hours=1))
    assert back == bars
    assert {str(b.close) for b in back} == {"65000.123456789012345678"}   # exact, same scale
    assert {str(b.high) for b in back} == {"65000.623456789012345678"}
    assert {str(b.volume) for b in back} == {"1E-8"}                     # Decimal("0.00000001")
    assert sorted(fake.buckets[BUCKET]) == [DAY1, DAY2]
    blob = client_for(fake).bucket(BUCKET).get_blob(DAY1)
    assert blob.content_type == "application/vnd.apache.parquet"
    assert fake.calls("POST", "/upload/", 200) and not fake.calls("POST", "/upload/", 400)


def test_rewrite_is_idempotent_and_leaves_the_object_untouched(fake):
    history = history_for(fake)
    assert history.write([bar(m) for m in range(5)]) == 5
    before = generation(fake, DAY1)
    uploads = len(fake.calls("POST", "/upload/"))
    assert history.write([bar(m) for m in range(5)]) == 0
    assert generation(fake, DAY1) == before
    assert len(fake.calls("POST", "/upload/")) == uploads                 # nothing re-uploaded
    assert history.write([bar(4, close="1.00"), bar(5)]) == 1             # first write wins
    back = history.read("binance", "BTC/USDT", T0, T0 + timedelta(hours=1))
    assert [b.trades for b in back] == [0, 1, 2, 3, 4, 5]
    assert back[4].close == Decimal("65000.123456789012345678")


def test_read_across_the_day_boundary_is_half_open(fake):
    history = history_for(fake)
    history.write([bar(m) for m in range(20)] + [bar(m, symbol="ETH/BTC", close="0.05") for m in range(20)])
    got = history.read("binance", "BTC/USDT", T0 + timedelta(minutes=8), T0 + timedelta(minutes=12))
    assert [b.open_time for b in got] == [T0 + timedelta(minutes=m) for m in (8, 9, 10, 11)]
    assert {b.symbol for b in got} == {"BTC/USDT"}
    midnight = T0 + timedelta(minutes=10)
    fake.requests.clear()
    before_midnight = history.read("binance", "BTC/USDT", T0, midnight)
    assert [b.trades for b in before_midnight] == list(range(10))
    assert not [r for r in fake.requests if "2024-01-02" in r.path]     # exclusive end: day 2 untouched
    assert history.read("binance", "BTC/USDT", midnight, midnight) == []
    assert history.read("kraken", "BTC/USDT", T0, midnight) == []


def test_last_time_follows_a_paged_listing_over_many_days(fake):
    fake.page_size = 3
    history = history_for(fake)
    assert history.last_time("binance", "BTC/USDT") is None
    days = [bar(60 * 24 * d + d) for d in range(10)]                      # one bar on each of 10 days
    assert history.write(days) == 10
    history.write([bar(5, timeframe="5m"), bar(60 * 24 * 20, symbol="ETH/BTC", close="0.05")])
    fake.requests.clear()
    assert history.last_time("binance", "BTC/USDT") == days[-1].open_time
    lists = fake.calls("GET", f"/b/{BUCKET}/o", 200)
    lists = [r for r in lists if r.path.endswith("/o")]
    assert len(lists) == 4                                                # 10 objects, 3 a page
    assert [bool(r.query.get("pageToken")) for r in lists] == [False, True, True, True]
    assert {r.query["prefix"] for r in lists} == {"history/binance/BTC-USDT/1m/"}
    assert history.last_time("binance", "BTC/USDT", timeframe="5m") == bar(5).open_time
    got = history.read("binance", "BTC/USDT", T0, days[-1].open_time + timedelta(minutes=1))
    assert got == days


def test_a_writer_that_commits_between_read_and_upload_is_merged_not_lost(fake):
    ours, theirs = history_for(fake), history_for(fake)
    ours.write([bar(0)])
    theirs_added: list[int] = []
    # their write lands after we read day 1 and before our upload reaches the server
    fake.before("upload", lambda *_: theirs_added.append(theirs.write([bar(1), bar(2, close="2.00")])))
    assert ours.write([bar(2), bar(3)]) == 1                              # bar 2 was theirs first
    assert theirs_added == [2]
    assert len(fake.calls("POST", "/upload/", 412)) == 1                  # our stale upload refused
    back = ours.read("binance", "BTC/USDT", T0, T0 + timedelta(minutes=5))
    assert [b.trades for b in back] == [0, 1, 2, 3]
    assert back[2].close == Decimal("2.00")                               # the committed bar stands


def test_an_object_replaced_between_metadata_and_download_is_read_again(fake):
    ours, theirs = history_for(fake), history_for(fake)
    ours.write([bar(0), bar(1)])
    fake.before("download", lambda *_: theirs.write([bar(2)]))
    back = ours.read("binance", "BTC/USDT", T0, T0 + timedelta(minutes=5))
    assert [b.trades for b in back] == [0, 1, 2]
    assert fake.calls("GET", "/download/", 404)                           # the pinned generation was gone


def test_losing_every_race_raises_transient_and_loses_nothing_committed(fake):
    ours, theirs = history_for(fake), history_for(fake)
    interlopers = iter(range(1, 6))                                    # same day as bar 0

    def interfere(*_):
        minute = next(interlopers, None)
        if minute is not None:
            theirs.write([bar(minute)])
            fake.before("upload", interfere)   # after their upload, so it fires on ours next

    fake.before("upload", interfere)
    with pytest.raises(TransientError, match="lost 5 write races"):
        ours.write([bar(0)])
    back = ours.read("binance", "BTC/USDT", T0, T0 + timedelta(hours=1))
    assert [b.trades for b in back] == [1, 2, 3, 4, 5]
    assert ours.write([bar(0)]) == 1                                      # the race is over: it lands


def test_default_client_reads_storage_emulator_host_and_an_empty_prefix(fake, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake.url)
    history = GcsBarHistory(BUCKET, prefix="")
    assert history.write([bar(0), bar(15)]) == 2
    assert sorted(fake.buckets[BUCKET]) == ["binance/BTC-USDT/1m/2024-01-01.parquet",
                                            "binance/BTC-USDT/1m/2024-01-02.parquet"]
    assert history.last_time("binance", "BTC/USDT") == bar(15).open_time
    assert [b.trades for b in history.read("binance", "BTC/USDT", T0, T0 + timedelta(hours=1))] == [0, 15]


def test_fake_speaks_resumable_media_ranges_and_preconditions_like_gcs(fake):
    bucket = client_for(fake).bucket(BUCKET)
    data = bytes(range(256)) * 2400                                       # 600 KiB, 3 chunks
    blob = bucket.blob("big/object.bin", chunk_size=256 * 1024)
    blob.upload_from_file(io.BytesIO(data), if_generation_match=0)        # size unknown: resumable
    assert fake.calls("PUT", "/upload/", 308) and fake.calls("POST", "/upload/", 200)
    assert bucket.blob("big/object.bin").download_as_bytes() == data
    assert bucket.blob("big/object.bin").download_as_bytes(start=10, end=19) == data[10:20]
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("big/object.bin", chunk_size=256 * 1024).upload_from_file(
            io.BytesIO(b"x"), if_generation_match=0)
    gen = bucket.get_blob("big/object.bin").generation
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("small").upload_from_string(b"y", if_generation_match=gen)  # absent: 412 too
    url = f"{fake.url}/upload/storage/v1/b/{BUCKET}/o"
    answer = httpx.post(url, params={"uploadType": "media", "name": "raw/a b.txt"}, content=b"hello",
                        headers={"Content-Type": "text/plain"}, timeout=5)
    assert answer.status_code == 200 and answer.json()["size"] == "5"
    raw = bucket.get_blob("raw/a b.txt")
    assert raw.content_type == "text/plain" and raw.download_as_bytes() == b"hello"
    raw.delete(if_generation_match=raw.generation)
    assert bucket.get_blob("raw/a b.txt") is None
    assert [b.name for b in client_for(fake).list_blobs(BUCKET, prefix="big/", max_results=5)] == ["big/object.bin"]
