"""`tradewinds data download` against the fake Binance: paginated, stored, resumable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from infra.cli.download import app, download_history
from shared.adapters.ccxt import CcxtExchange, RetryPolicy
from shared.errors import ExchangeUnavailable
from shared.history import ParquetBarHistory
from tests.integration.fake_binance import FakeBinance

pytestmark = pytest.mark.timeout(30)
NOW = datetime(2023, 11, 14, 22, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _run(fake, out, since, until, *extra):
    return CliRunner().invoke(app, [
        "--exchange", "binance", "--symbol", "BTC/USDT", "--since", since.isoformat(),
        "--until", until.isoformat(), "--out", str(out), "--page-limit", "100",
        "--timeout-ms", "1000", "--api-url", fake.url, *extra])


def test_download_paginates_into_parquet_and_resumes(tmp_path):
    since, middle, until = NOW - 300 * MINUTE, NOW - 120 * MINUTE, NOW
    with FakeBinance(int(NOW.timestamp() * 1000)) as fake:
        first = _run(fake, tmp_path, since, middle)
        assert first.exit_code == 0, first.output
        assert len(fake.calls("/api/v3/klines")) == 2  # 180 bars in pages of 100

        second = _run(fake, tmp_path, since, until)  # same --since: resumes at `middle`
        assert second.exit_code == 0, second.output
        starts = [int(q["startTime"]) for q in fake.calls("/api/v3/klines")][2:]
        assert starts[0] == int(middle.timestamp() * 1000) and len(starts) == 2
        assert "120 new bars" in second.output

    bars = ParquetBarHistory(tmp_path).read("binance", "BTC/USDT", since, until)
    times = [b.open_time for b in bars]
    assert times == [since + i * MINUTE for i in range(300)]


def test_interrupted_download_keeps_its_pages_and_resumes(tmp_path):
    since = NOW - 250 * MINUTE
    with FakeBinance(int(NOW.timestamp() * 1000)) as fake:
        ex = CcxtExchange("binance", urls_override=fake.url, timeout_ms=1000, rate_limit_ms=0,
                          retry=RetryPolicy(max_attempts=2), sleep=lambda s: None)
        history = ParquetBarHistory(tmp_path)
        pages = []

        def venue_dies_after_two_pages(n: int) -> None:
            pages.append(n)
            if len(pages) == 2:
                fake.set_down(True)

        with pytest.raises(ExchangeUnavailable):
            download_history(ex, history, "BTC/USDT", since, NOW, page_limit=100,
                             on_page=venue_dies_after_two_pages)
        assert history.last_time("binance", "BTC/USDT") == since + 199 * MINUTE

        failed = _run(fake, tmp_path, since, NOW, "--max-attempts", "1")  # the CLI reports it and exits non-zero
        assert failed.exit_code == 1 and "download failed" in failed.output

        fake.set_down(False)
        result = download_history(ex, history, "BTC/USDT", since, NOW, page_limit=100)
    assert (result.start, result.fetched, result.written) == (since + 200 * MINUTE, 50, 50)
    times = [b.open_time for b in history.read("binance", "BTC/USDT", since, NOW)]
    assert times == [since + i * MINUTE for i in range(250)]
