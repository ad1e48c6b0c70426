"""Fit the weekly archetypes (`inference_code.archetypes`) by EM, choosing how many by held-out
likelihood.

A latent-class model: each contact belongs to one of K archetypes; an archetype has an answer
probability for every weekly cell (day type x hour); a contact's calls are Bernoulli draws from
its archetype's curve; the archetype shares depend on the contact's time zone. EM alternates the
contacts' posteriors and the curves. The curves are estimated smooth across neighbouring hours
(a Gaussian kernel over the circular hour) and each day type is pulled towards the archetype's
all-week curve, so a cell the dialer rarely calls still gets a sensible rate. Zone shares are
pulled towards the population's, so a zone with few contacts borrows the others' mix.

K is chosen on contacts held out of the fit by the marginal likelihood of their calls (too few
archetypes cannot tell people apart, too many fit noise: both predict unseen contacts worse):
the fewest archetypes whose held-out likelihood is within one standard error of the best (the
one-standard-error rule: beyond that point the candidates are indistinguishable on held-out
contacts, and the simpler one generalizes more reliably). Seeded, so deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference_code.archetypes import HOURS, N_CELLS, N_DAYTYPES, Archetypes


@dataclass(frozen=True)
class ArchetypeSettings:
    # At most 32: each is 96 numbers shipped and K numbers per training row's posterior.
    candidates: tuple[int, ...] = (1, 2, 4, 8, 12, 16, 24, 32)
    iterations: int = 40
    selection_iterations: int = 25
    refit_iterations: int = 15  # a refit starts from fitted archetypes (`refit`)
    holdout_fraction: float = 0.2
    max_selection_contacts: int = 20_000  # K is chosen on at most this many contacts
    hour_sigma: float = 1.0
    daytype_strength: float = 5.0
    population_strength: float = 2.0
    zone_strength: float = 20.0  # pseudo-contacts pulling a zone's shares to the population's
    random_state: int = 0


_GAP = np.abs(np.arange(HOURS)[:, None] - np.arange(HOURS)[None, :])


def _kernel(sigma: float) -> np.ndarray:
    gap = np.minimum(_GAP, HOURS - _GAP)
    return np.exp(-(gap**2) / (2 * sigma**2)) if sigma > 0 else np.eye(HOURS)


@dataclass
class _Fit:
    rates: np.ndarray
    weights: np.ndarray
    zone_weights: np.ndarray  # (Z, K)


def _m_step_rates(answers: np.ndarray, calls: np.ndarray, population: np.ndarray,
                  settings: ArchetypeSettings, kernel: np.ndarray) -> np.ndarray:
    k = answers.shape[0]
    a = (answers.reshape(k, N_DAYTYPES, HOURS) @ kernel)
    n = (calls.reshape(k, N_DAYTYPES, HOURS) @ kernel)
    week_pop = population.reshape(N_DAYTYPES, HOURS).mean(axis=0)
    week = ((a.sum(axis=1, keepdims=True) + settings.population_strength * week_pop)
            / (n.sum(axis=1, keepdims=True) + settings.population_strength))
    rates = (a + settings.daytype_strength * week) / (n + settings.daytype_strength)
    return np.clip(rates.reshape(k, N_CELLS), 1e-3, 1 - 1e-3)


def _log_joint(calls: np.ndarray, answers: np.ndarray, fit: _Fit, zone: np.ndarray
               ) -> np.ndarray:
    return (answers @ np.log(fit.rates).T + (calls - answers) @ np.log1p(-fit.rates).T
            + np.log(fit.zone_weights[zone]))


def _em(calls: np.ndarray, answers: np.ndarray, zone: np.ndarray, n_zones: int, k: int,
        iterations: int, settings: ArchetypeSettings, start: _Fit | None = None) -> _Fit:
    rng = np.random.default_rng(settings.random_state)
    kernel = _kernel(settings.hour_sigma)
    rate = answers.sum() / max(calls.sum(), 1)
    population = (answers.sum(axis=0) + 10 * rate) / (calls.sum(axis=0) + 10)
    fit = start or _Fit(
        np.clip(population * np.exp(rng.normal(0, 0.4, (k, N_CELLS))), 1e-3, 1 - 1e-3),
        np.full(k, 1 / k), np.full((n_zones, k), 1 / k))
    for _ in range(iterations):
        posterior = Archetypes.posterior(_log_joint(calls, answers, fit, zone))
        weights = posterior.mean(axis=0) + 1e-6
        weights /= weights.sum()
        per_zone = np.zeros((n_zones, k))
        np.add.at(per_zone, zone, posterior)
        zone_weights = ((per_zone + settings.zone_strength * weights)
                        / (per_zone.sum(axis=1, keepdims=True) + settings.zone_strength))
        rates = _m_step_rates(posterior.T @ answers, posterior.T @ calls, population, settings,
                              kernel)
        fit = _Fit(rates, weights, zone_weights)
    return fit


def held_out_log_likelihood(calls: np.ndarray, answers: np.ndarray, zone: np.ndarray,
                            fit: _Fit) -> np.ndarray:
    """Per contact, log P(its calls' outcomes) under the mixture (its archetype unknown)."""
    log_joint = _log_joint(calls, answers, fit, zone)
    top = log_joint.max(axis=1)
    return top + np.log(np.exp(log_joint - top[:, None]).sum(axis=1))


def one_standard_error_choice(per_contact: dict[int, np.ndarray]) -> int:
    """The smallest K whose total held-out log-likelihood is within one standard error (of the
    paired per-contact difference) of the best K's."""
    best = max(per_contact, key=lambda k: per_contact[k].sum())
    for k in sorted(per_contact):
        diff = per_contact[best] - per_contact[k]
        if diff.sum() <= np.sqrt(len(diff)) * diff.std(ddof=1):
            return k
    return best


@dataclass(frozen=True)
class Selection:
    k: int
    held_out_log_likelihood: dict[int, float]
    contacts: int

    def to_dict(self) -> dict[str, object]:
        return {"chosen": self.k, "held_out_contacts": self.contacts,
                "held_out_log_likelihood": {str(k): round(v, 1)
                                            for k, v in self.held_out_log_likelihood.items()}}


def fit(calls: np.ndarray, answers: np.ndarray, zones: np.ndarray,
        settings: ArchetypeSettings | None = None) -> tuple[Archetypes, Selection]:
    """Archetypes from contacts' calls and answers per cell, (C, N_CELLS) each, and their zones
    (C,); rows in a fixed order (contact id), so the fit is deterministic."""
    settings = settings or ArchetypeSettings()
    if calls.shape[1:] != (N_CELLS,) or answers.shape != calls.shape:
        raise ValueError(f"calls and answers must be (contacts, {N_CELLS}), got "
                         f"{calls.shape} and {answers.shape}")
    names, zone = np.unique(np.asarray(zones, dtype=str), return_inverse=True)
    rng = np.random.default_rng(settings.random_state)
    chosen = np.arange(len(calls))
    if len(chosen) > settings.max_selection_contacts:
        chosen = np.sort(rng.choice(chosen, settings.max_selection_contacts, replace=False))
    held_out = rng.random(len(chosen)) < settings.holdout_fraction
    fit_rows, test_rows = chosen[~held_out], chosen[held_out]
    per_contact: dict[int, np.ndarray] = {}
    if len(test_rows) > 1 and len(fit_rows):
        for k in settings.candidates:
            trial = _em(calls[fit_rows], answers[fit_rows], zone[fit_rows], len(names), k,
                        settings.selection_iterations, settings)
            per_contact[k] = held_out_log_likelihood(calls[test_rows], answers[test_rows],
                                                     zone[test_rows], trial)
    k = one_standard_error_choice(per_contact) if per_contact else min(settings.candidates)
    scores = {k: float(v.sum()) for k, v in per_contact.items()}
    final = _em(calls, answers, zone, len(names), k, settings.iterations, settings)
    return _archetypes(final, names), Selection(k, scores, len(test_rows))


def _archetypes(fit: _Fit, zone_names: np.ndarray) -> Archetypes:
    return Archetypes(fit.rates, fit.weights,
                      {str(name): fit.zone_weights[i] for i, name in enumerate(zone_names)})


def refit(calls: np.ndarray, answers: np.ndarray, zones: np.ndarray, start: Archetypes,
          settings: ArchetypeSettings | None = None) -> Archetypes:
    """The same number of archetypes, refit on other contacts (every call, or a cross-fitting
    fold) by EM started from `start`'s curves and shares: cheaper than a fit from scratch, and
    the refit archetype k stays the fitted archetype k."""
    settings = settings or ArchetypeSettings()
    names, zone = np.unique(np.asarray(zones, dtype=str), return_inverse=True)
    initial = _Fit(start.rates, start.weights,
                   np.array([start.zone_weights.get(str(n), start.weights) for n in names]
                            ).reshape(len(names), start.k))
    final = _em(calls, answers, zone, len(names), start.k, settings.refit_iterations, settings,
                initial)
    return _archetypes(final, names)
