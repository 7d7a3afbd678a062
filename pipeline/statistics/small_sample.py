"""Cluster-robust inference that holds with few clusters: CR2, Bell-McCaffrey degrees of freedom.

Why not CR1 (the usual G/(G-1) factor with t on G - 1 degrees of freedom): with 10 to 25
inspections and six regressors, a few inspections carry most of the leverage, CR1 understates the
variance and G - 1 overstates the information, so intervals are too short and steps look
significant that are not (issue 25: 27 significant regional steps under CR1 on the sample).

CR2 (Bell and McCaffrey 2002) replaces each cluster's residuals e_g by A_g e_g with
A_g = (I - H_gg)^(-1/2), the symmetric inverse square root of one minus the cluster's block of
the hat matrix: the residuals of high-leverage clusters are inflated back to the size of the
errors they stand for. The test of one coefficient (or contrast c) then uses Student's t on the
Bell-McCaffrey degrees of freedom, the Satterthwaite approximation under a working model of
independent, equal-variance errors: with G_mat the n x G matrix whose g-th column is
(I - H)_g' A_g X_g (X'X)^-1 c, df = (sum of eigenvalues of G_mat' G_mat)^2 / (sum of their
squares). Imbens and Kolesar (2016, Review of Economics and Statistics 98(4)) recommend exactly
this pair; Pustejovsky and Tipton (2018) extend it (R package clubSandwich).

Weighted least squares is ordinary least squares on rows multiplied by the square root of their
weight, so everything here works on the whitened rows. Checked in tests/unit/test_small_sample.py
against statsmodels (HC2, the one-row-per-cluster case) and against the Welch-Satterthwaite
degrees of freedom of scipy's two-sample t-test, which the Bell-McCaffrey degrees of freedom
equal for a difference of two means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from pipeline.statistics import stats


@dataclass(frozen=True)
class CR2Fit:
    """A weighted least-squares fit with its CR2 covariance; `df(i)` gives the Bell-McCaffrey
    degrees of freedom of coefficient i. Nothing of size rows x rows is formed: the hat matrix is
    needed only in each cluster's block and in products with vectors."""

    beta: np.ndarray
    cov: np.ndarray
    whitened: np.ndarray  # X * sqrt(w)
    bread: np.ndarray  # (X'WX)^-1
    clusters: tuple[np.ndarray, ...]  # row positions of each cluster
    adjustments: tuple[Adjustment, ...]  # A_g per cluster

    def df(self, index: int) -> float:
        """Bell-McCaffrey degrees of freedom for the test of coefficient `index`."""
        return self.df_contrast(np.eye(len(self.beta))[index])

    def df_contrast(self, contrast: np.ndarray) -> float:
        """Bell-McCaffrey degrees of freedom for the test of the linear combination
        `contrast` of the coefficients (a gradient, for a delta-method effect).

        Column g of G is (I - H)_g' A_g X_g B c: u_g = A_g X_g B c scattered to the cluster's
        rows, minus X B v_g with v_g = X_g' u_g. Their Gram matrix is therefore
        diag(u_g'u_g) - V' B V (since B X'X B = B for B the pseudo-inverse of X'X), which needs
        no column of length rows: O(clusters x regressors^2) instead of O(rows x clusters)."""
        xt, bread = self.whitened, self.bread
        direction = bread @ contrast
        adjusted = [
            a @ (xt[rows] @ direction)
            for rows, a in zip(self.clusters, self.adjustments, strict=True)
        ]
        scores = np.column_stack(
            [xt[rows].T @ u for rows, u in zip(self.clusters, adjusted, strict=True)]
        )
        gram = np.diag([float(u @ u) for u in adjusted]) - scores.T @ bread @ scores
        total = float(np.trace(gram))
        squares = float(np.sum(gram * gram))
        return total * total / squares if squares > 0 else float("nan")


@dataclass(frozen=True)
class Adjustment:
    """A cluster's A_g = (I - H_gg)^(-1/2) in low-rank form, I + U diag(d) U'.

    H_gg = Z Z' with Z = X_g L (L L' = (X'X)^-1) has rank at most the number of regressors,
    so with the thin SVD Z = U S V' the inverse square root is I + U diag((1 - s^2)^(-1/2) - 1) U'.
    Forming and eigen-decomposing the rows x rows block instead cost O(rows^3) per cluster: at
    ten times the sample that was most of the tables stage. A direction with leverage one (the
    cluster determines its own fit) gets the pseudo-inverse (d = -1), as in clubSandwich."""

    basis: np.ndarray  # U, rows x k
    scale: np.ndarray  # d, k

    def __matmul__(self, vector: np.ndarray) -> np.ndarray:
        return np.asarray(vector + self.basis @ (self.scale * (self.basis.T @ vector)))


def _adjustment(z: np.ndarray) -> Adjustment:
    """A_g from Z (rows x regressors), H_gg = Z Z'."""
    basis, singular, _ = np.linalg.svd(z, full_matrices=False)
    remaining = 1 - singular**2  # eigenvalues of I - H_gg in the directions of U
    inverse_root = np.where(remaining > 1e-12, 1 / np.sqrt(np.clip(remaining, 1e-12, None)), 0.0)
    return Adjustment(basis, inverse_root - 1)


def _root(bread: np.ndarray) -> np.ndarray:
    """L with L L' = bread (symmetric, positive semi-definite)."""
    values, vectors = np.linalg.eigh(bread)
    return np.asarray(vectors * np.sqrt(np.clip(values, 0, None)))


def cr2_wls(y: np.ndarray, x: np.ndarray, weights: np.ndarray, clusters: np.ndarray) -> CR2Fit:
    """Weighted least squares of y on x with the CR2 cluster-robust covariance."""
    root = np.sqrt(weights)
    xt, yt = x * root[:, None], y * root
    bread = np.linalg.pinv(xt.T @ xt)
    beta = bread @ (xt.T @ yt)
    residual = yt - xt @ beta
    _, group = np.unique(clusters, return_inverse=True)
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    rows = tuple(np.split(order, bounds))
    half = _root(bread)
    adjustments = tuple(_adjustment(xt[r] @ half) for r in rows)
    meat = np.zeros((x.shape[1], x.shape[1]))
    for r, a in zip(rows, adjustments, strict=True):
        score = xt[r].T @ (a @ residual[r])
        meat += np.outer(score, score)
    return CR2Fit(beta, bread @ meat @ bread, xt, bread, rows, adjustments)


def cr2_binomial(
    proportion: np.ndarray, x: np.ndarray, trials: np.ndarray, clusters: np.ndarray
) -> tuple[CR2Fit, bool] | None:
    """A binomial GLM (logit link) of `proportion` out of `trials`, with CR2 on its working
    (linearised) model, as clubSandwich does for generalised linear models: at the fitted
    coefficients, weighted least squares of the working response on `x` with the working weights
    returns the same coefficients, so `cr2_wls` gives the sandwich. (fit, converged), or None
    where the model cannot be fitted."""
    solved = stats.fit_binomial(proportion, x, trials)
    if solved is None:
        return None
    beta, converged = solved
    mu = np.clip(special.expit(x @ beta), 1e-12, 1 - 1e-12)
    variance = mu * (1 - mu)
    working = x @ beta + (proportion - mu) / variance
    return cr2_wls(working, x, trials * variance, clusters), converged


@dataclass(frozen=True)
class MarginalEffect:
    """An average marginal effect (0-1 scale) with its CR2 standard error and Bell-McCaffrey
    degrees of freedom."""

    estimate: float
    se: float
    df: float


def cr2_marginal_effect(
    proportion: np.ndarray, x: np.ndarray, weights: np.ndarray, clusters: np.ndarray
) -> MarginalEffect | None:
    """The weighted mean over rows of P(yes | column 1 = 1) - P(yes | column 1 = 0) from the
    binomial GLM of `proportion` on `x` (`weights`: cases x case weights), with the delta
    method on the CR2 covariance and the Bell-McCaffrey degrees of freedom of its gradient;
    None where the model cannot be fitted."""
    fitted = cr2_binomial(proportion, x, weights, clusters)
    if fitted is None:
        return None
    fit = fitted[0]
    estimate, gradient = stats.marginal_effect(x, fit.beta, weights)
    variance = max(float(gradient @ fit.cov @ gradient), 0.0)
    return MarginalEffect(estimate, float(np.sqrt(variance)), fit.df_contrast(gradient))
