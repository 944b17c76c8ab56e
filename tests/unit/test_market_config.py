"""config/venues.yaml loads into MarketConfig; errors name the file and the field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from shared.config import MarketConfig, load_market_config, load_yaml_model
from shared.errors import ConfigError

pytestmark = pytest.mark.timeout(30)

DEFAULT = Path(__file__).resolve().parents[2] / "config" / "venues.yaml"


def _write(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(DEFAULT.read_text())
    mutate(raw)
    path = tmp_path / "venues.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_market_config(path)
    return str(info.value)


def test_default_config_has_five_simulated_venues_and_the_btc_eth_triangle():
    config = load_market_config()
    assert [v.name for v in config.enabled_venues] == ["binance", "okx", "bybit", "coinbase", "kraken"]
    assert all(v.kind == "simulated" for v in config.venues)
    assert all(Decimal("7.5") <= v.taker_fee_bps <= Decimal(26) for v in config.venues)
    assert len({v.taker_fee_bps for v in config.venues}) >= 3
    assert all(v.sim.depth_levels >= 20 for v in config.venues)
    assert config.symbols == ["BTC/USDT", "ETH/USDT", "ETH/BTC"]
    assert config.triangles == [("USDT", "BTC", "ETH")]
    assert config.quote == "USDT"
    assert config.venue("kraken").taker_fee == Decimal("0.0026")
    assert config.pair_for("BTC", "ETH") == "ETH/BTC"
    assert config.symbols_of("okx") == config.symbols
    with pytest.raises(KeyError, match="nope"):
        config.venue("nope")


def test_config_is_frozen():
    config = load_market_config()
    with pytest.raises(ValidationError):
        config.quote = "USD"  # type: ignore[misc]


def test_bad_field_names_file_and_path(tmp_path):
    path = _write(tmp_path, lambda raw: raw["venues"][1].update(taker_fee_bps="cheap"))
    message = _error(path)
    assert str(path) in message and "venues[1].taker_fee_bps" in message


def test_unknown_field_is_rejected_with_its_path(tmp_path):
    path = _write(tmp_path, lambda raw: raw["venues"][0]["sim"].update(lag_msec=10))
    message = _error(path)
    assert str(path) in message and "venues[0].sim.lag_msec" in message


def test_depth_below_twenty_levels_is_rejected(tmp_path):
    path = _write(tmp_path, lambda raw: raw["venues"][2]["sim"].update(depth_levels=5))
    assert "venues[2].sim.depth_levels" in _error(path)


def test_venue_listing_an_unknown_symbol(tmp_path):
    path = _write(tmp_path, lambda raw: raw["venues"][3].update(symbols=["DOGE/USDT"]))
    message = _error(path)
    assert "venues" in message and "DOGE/USDT" in message and "coinbase" in message


def test_triangle_without_a_market(tmp_path):
    def mutate(raw):
        raw["symbols"] = ["BTC/USDT", "ETH/USDT"]
        del raw["instruments"]["ETH/BTC"]
    message = _error(_write(tmp_path, mutate))
    assert "triangles" in message and "BTC" in message and "ETH" in message


def test_symbol_without_instrument_or_latent_asset(tmp_path):
    path = _write(tmp_path, lambda raw: raw["symbols"].append("SOL/USDT"))
    message = _error(path)
    assert "symbols" in message and "SOL" in message


def test_non_stationary_garch_is_rejected(tmp_path):
    path = _write(tmp_path, lambda raw: raw["assets"]["BTC"].update(garch_alpha=0.2, garch_beta=0.85))
    message = _error(path)
    assert "assets.BTC" in message and "garch" in message


def test_ccxt_venue_needs_an_id(tmp_path):
    def mutate(raw):
        raw["venues"][0].update(kind="ccxt", ccxt_id=None)
    assert "venues[0]" in _error(_write(tmp_path, mutate))


def test_duplicate_venue_names(tmp_path):
    path = _write(tmp_path, lambda raw: raw["venues"][1].update(name="binance"))
    assert "unique" in _error(path)


def test_missing_and_malformed_files_name_the_file(tmp_path):
    missing = tmp_path / "absent.yaml"
    assert str(missing) in _error(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("venues: [\n")
    assert str(broken) in _error(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="list.yaml"):
        load_yaml_model(listing, MarketConfig)


def test_relative_default_path_resolves_from_the_repo_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert len(load_market_config("config/venues.yaml").venues) == 5


# -- reference symbols: marks only ------------------------------------------------------
def test_default_reference_symbols_are_kept_apart_from_the_traded_ones():
    config = load_market_config()
    assert [(r.symbol, r.venue, r.start_price) for r in config.reference_symbols] == [
        ("BNB/USDT", "binance", Decimal(600)), ("GBP/USDT", "kraken", Decimal("1.27"))]
    assert config.symbols == ["BTC/USDT", "ETH/USDT", "ETH/BTC"]  # nothing trades them
    assert config.mark_symbols == ["BTC/USDT", "ETH/USDT", "ETH/BTC", "BNB/USDT", "GBP/USDT"]
    assert config.reference_symbols_of("kraken") == ["GBP/USDT"]
    assert config.reference_symbols_of("okx") == []
    assert "BNB/USDT" not in config.symbols_of("binance")  # no books, no arbitrage


def _ref(raw, **fields):
    raw["reference_symbols"][0].update(fields)


@pytest.mark.parametrize(("fields", "expected"), [
    ({"symbol": "BNBUSDT"}, "reference_symbols[0].symbol"),  # not BASE/QUOTE
    ({"symbol": "USDT/USDT"}, "reference_symbols[0].symbol: USDT/USDT trades an asset against itself"),
    ({"symbol": "BTC/USDT"}, "reference_symbols[0].symbol: BTC/USDT is a traded symbol"),
    ({"symbol": "XRP/EUR"}, "reference_symbols[0].symbol: XRP/EUR cannot be valued"),
    ({"venue": "ftx"}, "reference_symbols[0].venue: 'ftx' is not a configured venue"),
    ({"start_price": None}, "reference_symbols[0].start_price: needed: venue 'binance' is simulated"),
    ({"start_price": "0"}, "reference_symbols[0].start_price"),
    ({"daily_vol_pct": 0}, "reference_symbols[0].daily_vol_pct"),
    ({"colour": "gold"}, "reference_symbols[0].colour"),  # unknown field
])
def test_bad_reference_symbol_names_the_field(tmp_path, fields, expected):
    message = _error(_write(tmp_path, lambda raw: _ref(raw, **fields)))
    assert expected in message, message


def test_a_reference_symbol_listed_twice(tmp_path):
    path = _write(tmp_path, lambda raw: raw["reference_symbols"].append(dict(raw["reference_symbols"][0])))
    assert "reference_symbols[2].symbol: BNB/USDT is listed twice" in _error(path)


def test_a_reference_symbol_on_a_live_venue_needs_no_start_price(tmp_path):
    def mutate(raw):
        raw["venues"][0].update(kind="ccxt")
        _ref(raw, start_price=None)
    config = load_market_config(_write(tmp_path, mutate))
    assert config.reference_symbols[0].start_price is None
