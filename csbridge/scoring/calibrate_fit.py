"""The fitting maths of `csbridge calibrate`: pure numpy, no I/O, no clock.

- `logistic_fit`: logistic regression with optional non-negative coefficients
  (accelerated projected gradient, a light ridge so separable data stays finite);
- `search_anchors`: a linear transform's 0 and 100 anchors among the data's quantiles,
  direction kept, chosen by the likelihood of a one-indicator logistic fit;
- `isotonic_points` / `logistic_points`: score -> churn probability maps;
- `round_to_100`: integer weights summing to 100 (largest remainder);
- `band_cuts`: where the churn probability curve falls to each target rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

RIDGE = 1e-3
ITERATIONS = 400
NEWTON_STEPS = 50
LOW_QUANTILES = (0.0, 0.05, 0.10, 0.25)
HIGH_QUANTILES = (0.75, 0.90, 0.95, 1.0)


def logistic_fit(x: Floats, y: Bools, *, nonneg: bool = False) -> tuple[float, Floats]:
    """(intercept, coefficients) of P(y) = sigmoid(intercept + x @ coef), by mean log-loss.

    With `nonneg`, every coefficient is kept >= 0 (accelerated projected gradient);
    without, Newton's method. `x` must have no NaN.
    """
    n, k = x.shape
    target = y.astype(float)
    design = np.hstack([np.ones((n, 1)), x])
    if not nonneg:
        return _newton(design, target)
    # Step from the gradient's Lipschitz bound: 0.25 * largest eigenvalue of X'X / n.
    lipschitz = 0.25 * float(np.linalg.norm(design, ord=2)) ** 2 / n + RIDGE
    step = 1.0 / lipschitz
    theta = np.zeros(k + 1)
    rate = float(np.clip(target.mean(), 1e-6, 1 - 1e-6))
    theta[0] = np.log(rate / (1 - rate))
    ahead, t = theta.copy(), 1.0
    for _ in range(ITERATIONS):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ ahead, -30, 30)))
        grad = design.T @ (p - target) / n
        grad[1:] += RIDGE * ahead[1:]
        new = ahead - step * grad
        if nonneg:
            new[1:] = np.maximum(new[1:], 0.0)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        ahead = new + (t - 1) / t_next * (new - theta)
        theta, t = new, t_next
    return float(theta[0]), theta[1:]


def _newton(design: Floats, target: Floats) -> tuple[float, Floats]:
    n, k = design.shape
    ridge = np.diag([0.0] + [RIDGE] * (k - 1))
    theta = np.zeros(k)
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ theta, -30, 30)))
        grad = design.T @ (p - target) / n + ridge @ theta
        hessian = (design * (p * (1 - p))[:, None]).T @ design / n + ridge + 1e-9 * np.eye(k)
        step = np.linalg.solve(hessian, grad)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(theta[0]), theta[1:]


def log_likelihood(x: Floats, y: Bools, intercept: float, coef: Floats) -> float:
    """Mean log-likelihood of y under the fitted logistic model (higher is better)."""
    z = np.clip(intercept + x @ coef, -30, 30)
    return float(np.mean(y * z - np.log1p(np.exp(z))))


def linear_scores(raw: Floats, zero_at: float, full_at: float) -> Floats:
    """A linear transform with floor 0, as the engine computes it (NaN stays NaN)."""
    out: Floats = 100.0 * np.clip((raw - zero_at) / (full_at - zero_at), 0.0, 1.0)
    return out


def search_anchors(raw: Floats, churned: Bools, increasing: bool) -> tuple[float, float] | None:
    """(zero_at, full_at) among the data's quantiles, keeping the direction, or None.

    Each candidate is judged by how well the indicator alone explains churn (a
    one-variable logistic fit): anchors that clip where the data saturates win.
    None when the data has fewer than two distinct values.
    """
    has = ~np.isnan(raw)
    x, y = raw[has], churned[has]
    if np.unique(x).size < 2 or y.all() or not y.any():
        return None
    best, best_ll = None, -np.inf
    for lo in np.unique(np.quantile(x, LOW_QUANTILES)):
        for hi in np.unique(np.quantile(x, HIGH_QUANTILES)):
            if hi <= lo:
                continue
            zero_at, full_at = (float(lo), float(hi)) if increasing else (float(hi), float(lo))
            col = linear_scores(x, zero_at, full_at)[:, None] / 100.0
            intercept, coef = logistic_fit(col, y)
            ll = log_likelihood(col, y, intercept, coef)
            if ll > best_ll + 1e-9:
                best, best_ll = (zero_at, full_at), ll
    return best


def isotonic_points(score: Floats, churned: Bools) -> list[tuple[float, float]]:
    """Pool-adjacent-violators: churn rate never rising with the score, as (score, rate) points."""
    values, inverse = np.unique(score, return_inverse=True)
    weight = np.bincount(inverse).astype(float)
    rate = np.bincount(inverse, weights=churned.astype(float)) / weight
    blocks: list[list[float]] = []  # [weighted score sum, weighted rate sum, weight]
    for v, r, w in zip(values, rate, weight, strict=True):
        blocks.append([v * w, r * w, w])
        # a later (higher) score must not churn more: merge while it would.
        while len(blocks) > 1 and blocks[-1][1] / blocks[-1][2] > blocks[-2][1] / blocks[-2][2]:
            s, c, n = blocks.pop()
            blocks[-1] = [blocks[-1][0] + s, blocks[-1][1] + c, blocks[-1][2] + n]
    points: list[tuple[float, float]] = []
    for s, c, n in blocks:
        x, p = round(s / n, 2), round(c / n, 4)
        if not points or x > points[-1][0]:
            points.append((x, p))
    return points


def logistic_points(score: Floats, churned: Bools) -> tuple[float, float]:
    """(intercept, slope) of churn on the score; the slope is kept <= 0 (healthier churns less)."""
    intercept, coef = logistic_fit(score[:, None] / 100.0, churned)
    slope = min(float(coef[0]), 0.0) / 100.0
    if slope == 0.0:
        rate = float(np.clip(churned.mean(), 1e-6, 1 - 1e-6))
        intercept = float(np.log(rate / (1 - rate)))
    return intercept, slope


def round_to_100(shares: Sequence[float]) -> list[int]:
    """Integers proportional to `shares` that sum to exactly 100 (largest remainder)."""
    total = float(sum(shares))
    exact = [100.0 * s / total for s in shares]
    out = [int(np.floor(e)) for e in exact]
    order = sorted(range(len(exact)), key=lambda i: out[i] - exact[i])
    for i in order[: 100 - sum(out)]:
        out[i] += 1
    return out


def band_cuts(curve: Floats, targets: Sequence[float]) -> list[int]:
    """Per target churn rate (decreasing), the lowest whole score whose churn is at or below it.

    `curve[s]` is the churn probability at score s = 0..100. Cuts strictly increase
    (a band is at least one point wide) and stay within 1-100.
    """
    cuts: list[int] = []
    for target in targets:
        below = np.nonzero(curve <= target)[0]
        cut = int(below[0]) if below.size else 100
        cut = max(cut, cuts[-1] + 1 if cuts else 1)
        cuts.append(min(cut, 101 - len(targets) + len(cuts)))
    return cuts
