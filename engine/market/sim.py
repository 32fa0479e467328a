"""A deterministic simulated XRP/RLUSD market: fair value, CLOB, lagging AMM, taker flow.

Why it looks the way it does:

* Fair value (log price) is an Ornstein-Uhlenbeck process around a slowly drifting
  level, with occasional trend regimes (the level drifts for a while) and rare jumps,
  so the momentum gate and the skew have something to react to. `volatility_bps` is
  the per-tick standard deviation of the fair-value innovation.
* The CLOB is persistent, like a real one: makers' levels sit at fixed prices on a
  0.00001 RLUSD grid. Each tick, levels the fair value has moved onto are pulled,
  makers join inside when the spread has opened, the far end is padded or trimmed to
  5-8 levels, a few sizes change, and taker sweeps eat levels (seen the next tick).
  Sizes grow away from the touch (tens near it, thousands deep). About 0.5% of ticks
  show an empty side or a crossed book, so the `book_invalid` gate is exercised.
* The AMM is a constant-product pool whose price lags the book: each tick an
  arbitrageur trades against the pool (input fee kept by the pool, as on XRPL) to
  move its price a fraction `amm_lag` of the way to the book mid. Trends and jumps
  push the AMM-vs-mid divergence past a 10 bps cap, both ways, at times.
* Taker flow: a Poisson number of takers (mean `taker_rate`) per tick, each with a
  limit a few bps through the touch and a log-normal size, leaning with the trend.

Only a private `random.Random(seed)` drives it: same seed and settings, same market.
`step()` is on the hot path of a flat-out run, so it works on local floats and only
builds the value objects that changed (~20 us per step on a slow 2-core VM).
"""

from __future__ import annotations

import math
import random

from engine.models import AmmPool, Book, Level, MarketState, TakerTrade
from engine.settings import SimSettings

LEDGER_START = 90_000_000
MIN_LEVELS = 5
MAX_LEVELS = 8
GRID_BPS = 0.05  # CLOB price grid: the power of ten nearest 0.05 bps of the start price

# AMM pool: ~3M XRP, fee in 1/100,000 as in amm_info (500 = 0.5%).
AMM_XRP_RESERVE = 3_000_000.0
AMM_TRADING_FEE = 500

# Fair value process (per tick, log-price units unless a name says bps).
MEAN_REVERSION = 0.25  # pull of fair value toward the drifting level
HOME_PULL = 0.0002  # very slow pull of the level toward the start price (stationarity)
LEVEL_NOISE = 0.25  # sd of the level's random walk, as a fraction of the tick volatility
TREND_START_P = 1.0 / 350.0  # calm -> trend, per tick
TREND_END_P = 1.0 / 90.0  # trend -> calm, per tick
TREND_DRIFT = (0.12, 0.40)  # trend drift per tick, as a fraction of the tick volatility
TREND_VOL_MULT = 1.3
JUMP_P = 0.002
JUMP_SIZE = (2.5, 6.0)  # in tick volatilities

# Book shape.
HALF_SPREAD_BPS = (1.0, 4.5)
GAP_BPS = (1.0, 4.5)
TOUCH_SIZE_XRP = 70.0  # typical size of a level at the touch
SIZE_SLOPE_PER_BPS = 0.2  # log-size grows this much per bp away from fair value
SIZE_SPREAD = 1.2  # width of the uniform log-size noise of a new level
SIZE_WALK = 0.5  # width of the uniform log-size step of a resized level
SIZE_REVERT = 0.3
RESIZES_PER_SIDE = 1
EMPTY_SIDE_P = 0.0025
CROSSED_P = 0.0025

# Taker flow.
TAKER_THROUGH_BPS = 4.0  # mean of the exponential distance of the limit through the touch
TAKER_SIZE_MEDIAN_XRP = 140.0
TAKER_SIZE_SIGMA = 1.1
TAKER_SIZE_RANGE = (2.0, 30_000.0)
TAKER_TREND_BIAS = 0.12  # extra probability of trading with the trend


class SimMarket:
    """Seeded simulated market; one `step()` is one closed ledger."""

    def __init__(
        self,
        settings: SimSettings,
        seed: int | None = None,
        start_ts: float = 1_767_225_600.0,
    ) -> None:
        self.settings = settings
        self.seed = settings.seed if seed is None else seed
        self._rng = random.Random(self.seed)
        self._ts = float(start_ts)
        self._ledger = LEDGER_START
        self._dt = float(settings.ledger_interval_s)
        self._sigma = settings.volatility_bps / 1e4
        self._lag = float(settings.amm_lag)
        self._exp_neg_rate = math.exp(-settings.taker_rate)
        # prices are whole multiples of 1/scale: 0.00001 RLUSD at the default 2.20
        self._scale = 10.0 ** -math.floor(math.log10(settings.start_price * GRID_BPS * 1e-4))

        self._home = math.log(settings.start_price)
        self._x = self._home  # log fair value
        self._level = self._home  # what fair value reverts to
        self._trend = 0  # -1, 0, +1
        self._mu = 0.0  # drift of the level per tick during a trend
        self._hs_bps = 2.5
        self._n = [6, 6]  # target number of levels: [bids, asks]
        self._bids: list[Level] = []  # best first
        self._asks: list[Level] = []  # best first

        self._amm_fee = AMM_TRADING_FEE
        self._amm_x = AMM_XRP_RESERVE
        self._amm_y = AMM_XRP_RESERVE * settings.start_price
        self._last: MarketState | None = None

    # ---- introspection (tests, debugging) --------------------------------------

    @property
    def ts(self) -> float:
        """Simulated clock: start_ts before the first step, then the last step's ts."""
        return self._ts

    @property
    def ledger_index(self) -> int:
        """The last step's ledger (LEDGER_START before the first step)."""
        return self._ledger

    @property
    def fair_value(self) -> float:
        """The hidden fair value after the last step (RLUSD/XRP)."""
        return math.exp(self._x)

    @property
    def trend(self) -> int:
        """Current regime: -1 down-trend, 0 calm, +1 up-trend."""
        return self._trend

    @property
    def last(self) -> MarketState | None:
        return self._last

    # ---- the step ------------------------------------------------------------

    def step(self) -> tuple[MarketState, list[TakerTrade]]:
        """Advance one simulated ledger; return the market and the takers that arrived.

        The returned book is the one the takers meet; what they consume is gone from
        the next step's book.
        """
        rng = self._rng
        rnd = rng.random
        sigma = self._sigma
        self._ts += self._dt
        self._ledger += 1
        ts = self._ts

        # -- fair value: regime switch, drifting level, OU pull, innovation, jumps
        u = rnd()
        if self._trend == 0:
            if u < TREND_START_P:
                self._trend = 1 if rnd() < 0.5 else -1
                lo, hi = TREND_DRIFT
                self._mu = self._trend * sigma * (lo + (hi - lo) * rnd())
        elif u < TREND_END_P:
            self._trend = 0
            self._mu = 0.0
        level = self._level
        level += self._mu + sigma * LEVEL_NOISE * 3.4641016 * (rnd() - 0.5)
        level += HOME_PULL * (self._home - level)
        self._level = level
        vol = sigma * TREND_VOL_MULT if self._trend else sigma
        x = self._x + MEAN_REVERSION * (level - self._x) + vol * rng.gauss(0.0, 1.0)
        if rnd() < JUMP_P:
            lo, hi = JUMP_SIZE
            x += (1.0 if rnd() < 0.5 else -1.0) * sigma * (lo + (hi - lo) * rnd())
        self._x = x
        fair = math.exp(x)

        # -- CLOB: persistent levels, re-shaped around the new fair value
        hs = self._hs_bps + 0.6 * (rnd() - 0.5)
        hs = HALF_SPREAD_BPS[0] if hs < HALF_SPREAD_BPS[0] else hs
        hs = HALF_SPREAD_BPS[1] if hs > HALF_SPREAD_BPS[1] else hs
        self._hs_bps = hs
        n = self._n
        if rnd() < 0.04:
            n[0] = MIN_LEVELS + int(rnd() * (MAX_LEVELS - MIN_LEVELS + 1))
        if rnd() < 0.04:
            n[1] = MIN_LEVELS + int(rnd() * (MAX_LEVELS - MIN_LEVELS + 1))
        self._reshape(self._bids, fair, -1.0, hs, n[0])
        self._reshape(self._asks, fair, 1.0, hs, n[1])
        bids = tuple(self._bids)
        asks = tuple(self._asks)
        u = rnd()
        if u < EMPTY_SIDE_P:
            if rnd() < 0.5:
                bids = ()
            else:
                asks = ()
        elif u < EMPTY_SIDE_P + CROSSED_P:
            # a stale bid above the best ask (this tick only): the book is crossed
            through = 0.5 + 2.5 * rnd()
            bids = (Level(self._grid(asks[0].price * (1.0 + through * 1e-4)), 25.0), *bids)
        book = Book(bids, asks)

        # -- AMM lags the book: arbitrage a fraction amm_lag of the way to the mid
        if bids and asks:
            self._arbitrage((bids[0].price + asks[0].price) * 0.5)
        amm = AmmPool(self._amm_x, self._amm_y, self._amm_fee)

        # -- taker flow (Poisson count by multiplying uniforms)
        trades: list[TakerTrade] = []
        k = 0
        p = rnd()
        while p > self._exp_neg_rate:
            k += 1
            p *= rnd()
        if k:
            p_buy = 0.5 + TAKER_TREND_BIAS * self._trend
            best_bid = bids[0].price if bids else fair * (1.0 - hs * 1e-4)
            best_ask = asks[0].price if asks else fair * (1.0 + hs * 1e-4)
            log_med = math.log(TAKER_SIZE_MEDIAN_XRP)
            smin, smax = TAKER_SIZE_RANGE
            for _ in range(k):
                through = -TAKER_THROUGH_BPS * 1e-4 * math.log(1.0 - rnd())
                size = math.exp(log_med + TAKER_SIZE_SIGMA * rng.gauss(0.0, 1.0))
                size = smin if size < smin else (smax if size > smax else size)
                size = int(size * 1e6) / 1e6  # whole drops
                if rnd() < p_buy:
                    trade = TakerTrade("BUY", self._grid(best_ask * (1.0 + through)), size)
                    self._consume(self._asks, trade.price, size, 1.0)
                else:
                    trade = TakerTrade("SELL", self._grid(best_bid * (1.0 - through)), size)
                    self._consume(self._bids, trade.price, size, -1.0)
                trades.append(trade)

        state = MarketState(self._ledger, ts, book, amm, ts, ts, True)
        self._last = state
        return state, trades

    # ---- pieces ----------------------------------------------------------------

    def _grid(self, price: float) -> float:
        """Snap to the price grid (cheaper than round(x, n), and just as canonical)."""
        return int(price * self._scale + 0.5) / self._scale

    def _reshape(self, levels: list[Level], fair: float, sign: float, hs: float, n: int) -> None:
        """Move one side (sign -1 bids, +1 asks) to the new fair value, in place.

        Levels now closer to fair value than the half spread are pulled; makers join
        inside while the spread is wider than a random gap; the far end is padded with
        deeper levels or trimmed to n; a few sizes change. A new level's size is
        log-uniform around TOUCH_SIZE_XRP * exp(slope * bps beyond the half spread).
        """
        rnd = self._rng.random
        exp = math.exp
        scale = self._scale
        glo, gspan = GAP_BPS[0] * 1e-4, (GAP_BPS[1] - GAP_BPS[0]) * 1e-4
        slope = SIZE_SLOPE_PER_BPS * 1e4 * sign / fair  # log-size per RLUSD away from fair
        base = math.log(TOUCH_SIZE_XRP) - SIZE_SLOPE_PER_BPS * (hs + sign * 1e4) - 0.5 * SIZE_SPREAD
        touch = fair * (1.0 + sign * hs * 1e-4)  # the best price a maker would quote
        # pull levels at or through the touch
        if sign < 0:
            while levels and levels[0].price > touch:
                del levels[0]
        else:
            while levels and levels[0].price < touch:
                del levels[0]
        if not levels:
            price = self._grid(touch)
            size = exp(base + slope * price + SIZE_SPREAD * rnd())
            levels.append(Level(price, int(size * 10.0 + 0.5) / 10.0 or 0.1))
        # join inside: step from the current best toward the touch
        price = levels[0].price
        inside: list[Level] = []
        while True:
            nxt = int(price * (1.0 - sign * (glo + gspan * rnd())) * scale + 0.5) / scale
            if (nxt - touch) * sign < 0.0 or nxt == price:  # would pass the touch
                break
            price = nxt
            size = exp(base + slope * price + SIZE_SPREAD * rnd())
            inside.append(Level(price, int(size * 10.0 + 0.5) / 10.0 or 0.1))
        if inside:
            inside.reverse()
            levels[0:0] = inside
        # pad the far end with deeper levels, or trim it
        while len(levels) < n:
            price = levels[-1].price * (1.0 + sign * (glo + gspan * rnd()))
            price = int(price * scale + 0.5) / scale
            if price == levels[-1].price:  # a gap below the grid step (far-off prices)
                price += sign / scale
            size = exp(base + slope * price + SIZE_SPREAD * rnd())
            levels.append(Level(price, int(size * 10.0 + 0.5) / 10.0 or 0.1))
        del levels[n:]
        # a few makers change size, drifting toward the typical size for their distance
        for _ in range(RESIZES_PER_SIDE):
            i = int(rnd() * len(levels))
            lv = levels[i]
            ls = math.log(lv.size)
            target = base + 0.5 * SIZE_SPREAD + slope * lv.price
            ls += SIZE_REVERT * (target - ls) + SIZE_WALK * (rnd() - 0.5)
            levels[i] = Level(lv.price, int(exp(ls) * 10.0 + 0.5) / 10.0 or 0.1)

    @staticmethod
    def _consume(levels: list[Level], limit: float, size: float, sign: float) -> None:
        """A taker sweeps one side (sign +1 asks for a taker BUY, -1 bids) up to limit."""
        while size > 0.0 and levels and (limit - levels[0].price) * sign >= 0.0:
            lv = levels[0]
            if lv.size > size:
                levels[0] = Level(lv.price, int((lv.size - size) * 10.0 + 0.5) / 10.0 or 0.1)
                return
            size -= lv.size
            del levels[0]

    def _arbitrage(self, mid: float) -> None:
        """Trade against the pool to move its price `amm_lag` of the way to `mid`.

        Constant product with the fee taken on the input and kept in the pool (XRPL
        AMM): (X + (1-f) dx) (Y - dy) = X Y for XRP in, symmetric for RLUSD in. The
        input is solved from a quadratic so the post-trade reserve ratio hits the target.
        """
        x, y = self._amm_x, self._amm_y
        price = y / x
        target = price + self._lag * (mid - price)
        if target == price:
            return
        f = self._amm_fee / 100_000.0
        g = 1.0 - f
        b = 2.0 - f
        if target > price:
            # RLUSD in, XRP out: g dy^2 + b Y dy + Y^2 - target X Y = 0
            c = y * y - target * x * y
            dy = (-b * y + math.sqrt(b * b * y * y - 4.0 * g * c)) / (2.0 * g)
            self._amm_x, self._amm_y = x * y / (y + g * dy), y + dy
        else:
            # XRP in, RLUSD out: g dx^2 + b X dx + X^2 - X Y / target = 0
            c = x * x - x * y / target
            dx = (-b * x + math.sqrt(b * b * x * x - 4.0 * g * c)) / (2.0 * g)
            self._amm_x, self._amm_y = x + dx, x * y / (x + g * dx)
