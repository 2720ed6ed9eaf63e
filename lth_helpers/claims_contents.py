"""Notebook 6's claims: what a winning ticket carries, checked on this run.

Sources: the paper's App. F.7 (Gaussian noise on theta_0) and Zhou, Lan, Liu & Yosinski,
"Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask" (NeurIPS 2019): Section 2 (mask
criteria), Section 3 (what the reset needs: signs), Section 5 (supermasks). The verdicts follow
:mod:`lth_helpers.claims`: a direction *holds* when its 95% interval lies on the reported side.
Claims that something "barely hurts" or "does as well" hold when the interval rules out a loss
larger than a stated tolerance (:data:`TOLERANCE`), fail when it rules out anything smaller, and are
unresolved otherwise.

Every function takes records (an :class:`~lth_helpers.results.IMPResult` or a list); the
supermask claims take the records of :func:`lth_helpers.supermasks.supermask_records`.
"""

from __future__ import annotations

from typing import Sequence

from .claims import FAILS, HOLDS, UNRESOLVED, Claim, checkpoint, direction
from .intervals import PairedEstimate, paired_estimate
from .results import Source, records_of

__all__ = ["TOLERANCE", "CHECKPOINTS", "CONTENT_NAMES", "within", "checkpoints", "content_estimates",
           "noise_barely_hurts", "noise_above_reinit", "sign_suffices", "constant_sign_beats_reinit",
           "random_signs_lose", "positions_matter", "supermask_above_random", "supermask_needs_theta0_signs",
           "same_sign_supermask_better", "criterion_beats", "contents_claims", "supermask_claims",
           "criteria_claims"]

#: "Barely hurts" / "does as well": the interval must rule out a loss of more than this (accuracy, 0-1).
TOLERANCE = 0.005
#: The densities notebook 6 reads its comparisons at (the paper's 21.1% and 3.6%, and 7.0% between).
CHECKPOINTS: tuple[float, ...] = (0.211, 0.07, 0.036)
CONTENT_NAMES = {
    "original": "ticket", "reinit": "random reinit",
    "permuted": "start with theta_0's values permuted in the mask",
    "same_sign_reinit": "start with fresh magnitudes and theta_0's signs",
    "same_sign_constant": "start with one constant magnitude and theta_0's signs",
    "flipped_sign": "start with theta_0's magnitudes and random signs",
    "noisy_0.5": "ticket with 0.5 sigma of noise", "noisy_1": "ticket with 1 sigma of noise",
    "noisy_2": "ticket with 2 sigma of noise", "noisy_3": "ticket with 3 sigma of noise",
    "shuffled": "ticket's values shuffled onto a random mask", "ticket_scale": "ticket-scale reinit",
    "ticket_mask": "ticket's mask on theta_0", "ticket_mask_reinit": "ticket's mask on fresh weights",
    "random_mask": "random mask on theta_0", "large_final_same_sign": "'large final, same sign' mask on theta_0",
    "one_shot": "mask by large final magnitude (the paper's)", "mask_magnitude_increase": "mask by magnitude increase",
    "mask_movement": "mask by movement", "mask_large_init": "mask by large initial magnitude",
    "mask_random": "random one-shot mask",
}


def within(estimate: PairedEstimate, tolerance: float | None = None) -> str:
    """HOLDS when the interval rules out a loss larger than ``tolerance`` (default: :data:`TOLERANCE`,
    read when called), FAILS when it rules out anything smaller, UNRESOLVED otherwise."""
    tolerance = TOLERANCE if tolerance is None else tolerance
    if estimate.low >= -tolerance:
        return HOLDS
    return FAILS if estimate.high < -tolerance else UNRESOLVED


def _combine(verdicts: Sequence[str]) -> str:
    if not verdicts:
        return UNRESOLVED
    if all(v == HOLDS for v in verdicts):
        return HOLDS
    return FAILS if FAILS in verdicts else UNRESOLVED


def checkpoints(source: Source, strategy: str) -> list[int]:
    """The rounds of ``strategy`` nearest :data:`CHECKPOINTS` (each once)."""
    rounds = sorted({r["round"] for r in records_of(source) if r["strategy"] == strategy and r["round"] > 0})
    if not rounds:
        return []
    return sorted({checkpoint(source, d, strategy) for d in CHECKPOINTS})


def content_estimates(source: Source, strategy: str, baseline: str) -> list[PairedEstimate]:
    """``strategy`` minus ``baseline`` in test accuracy at each checkpoint round both have."""
    out = []
    for n in checkpoints(source, strategy):
        try:
            out.append(paired_estimate(source, strategy, baseline, n))
        except ValueError:
            continue
    return out


def _here(estimates: Sequence[PairedEstimate], subject: str, other: str) -> str:
    if not estimates:
        return "not run"
    parts = "; ".join(f"{100 * e.density:.1f}%: {e.text()}" for e in estimates)
    return f"{subject} minus {other}: {parts}"


def _directional(source: Source, strategy: str, baseline: str, expected: str, cite: str, paper: str) -> Claim:
    estimates = content_estimates(source, strategy, baseline)
    verdict = _combine([direction(e, expected) for e in estimates])
    return Claim(cite, paper, _here(estimates, CONTENT_NAMES[strategy], CONTENT_NAMES[baseline]), verdict)


def _tolerant(source: Source, strategy: str, baseline: str, cite: str, paper: str) -> Claim:
    estimates = content_estimates(source, strategy, baseline)
    verdict = _combine([within(e) for e in estimates])
    return Claim(cite, f"{paper} (a loss under {100 * TOLERANCE:.1f} points counts as 'as well')",
                 _here(estimates, CONTENT_NAMES[strategy], CONTENT_NAMES[baseline]), verdict)


# --------------------------------------------------------------------- what the reset needs


def noise_barely_hurts(source: Source) -> Claim:
    """App. F.7: Gaussian noise of 0.5 sigma on theta_0 barely hurts the ticket."""
    return _tolerant(source, "noisy_0.5", "original", "App. F.7", "Noise of 0.5 sigma on theta_0 barely hurts the ticket")


def noise_above_reinit(source: Source) -> Claim:
    """App. F.7: even with 3 sigma of noise the ticket stays above random reinitialization."""
    return _directional(source, "noisy_3", "reinit", "higher", "App. F.7",
                        "Even with 3 sigma of noise the ticket stays more accurate than a random reinit")


def sign_suffices(source: Source) -> Claim:
    """Zhou et al., Sec. 3: fresh magnitudes with theta_0's signs do as well as the ticket."""
    return _tolerant(source, "same_sign_reinit", "original", "Zhou et al. Sec. 3",
                     "Keeping theta_0's signs with fresh magnitudes does as well as the ticket")


def constant_sign_beats_reinit(source: Source) -> Claim:
    """Zhou et al., Sec. 3: a constant magnitude with theta_0's signs beats a random reinit."""
    return _directional(source, "same_sign_constant", "reinit", "higher", "Zhou et al. Sec. 3",
                        "A constant magnitude with theta_0's signs is more accurate than a random reinit")


def random_signs_lose(source: Source) -> Claim:
    """Zhou et al., Sec. 3: with random signs the ticket loses its advantage (ticket more accurate)."""
    return _directional(source, "original", "flipped_sign", "higher", "Zhou et al. Sec. 3",
                        "The ticket is more accurate than its own magnitudes with random signs")


def positions_matter(source: Source) -> Claim:
    """Zhou et al., Sec. 3: permuting the values within the mask loses the ticket's advantage."""
    return _directional(source, "original", "permuted", "higher", "Zhou et al. Sec. 3",
                        "The ticket is more accurate than its values permuted within its mask")


def contents_claims(source: Source) -> list[Claim]:
    """Every claim above that the run has records for."""
    return [noise_barely_hurts(source), noise_above_reinit(source), sign_suffices(source),
            constant_sign_beats_reinit(source), random_signs_lose(source), positions_matter(source)]


# ------------------------------------------------------------------------------- supermasks


def supermask_above_random(rows: Source) -> Claim:
    """Zhou et al., Sec. 5: the ticket's mask on untrained theta_0 classifies far above chance (and a random mask)."""
    return _directional(rows, "ticket_mask", "random_mask", "higher", "Zhou et al. Sec. 5",
                        "The ticket's mask on untrained theta_0 classifies far above chance and a random mask")


def supermask_needs_theta0_signs(rows: Source) -> Claim:
    """Zhou et al., Sec. 5: the mask works with the weights it was found with, not on fresh ones."""
    return _directional(rows, "ticket_mask", "ticket_mask_reinit", "higher", "Zhou et al. Sec. 5",
                        "The ticket's mask classifies on theta_0, not on fresh random weights")


def same_sign_supermask_better(rows: Source) -> Claim:
    """Zhou et al., Sec. 5: the 'large final, same sign' mask is a better supermask than the ticket's."""
    return _directional(rows, "large_final_same_sign", "ticket_mask", "higher", "Zhou et al. Sec. 5",
                        "A 'large final, same sign' mask is a better supermask than the ticket's own mask")


def supermask_claims(rows: Source) -> list[Claim]:
    """The three supermask claims."""
    return [supermask_above_random(rows), supermask_needs_theta0_signs(rows), same_sign_supermask_better(rows)]


# ---------------------------------------------------------------------------- mask criteria


def criterion_beats(source: Source, better: str, worse: str, cite: str = "Zhou et al. Sec. 2") -> Claim:
    """``better`` criterion's one-shot tickets are more accurate than ``worse``'s at the checkpoints."""
    return _directional(source, better, worse, "higher", cite,
                        f"The one-shot {CONTENT_NAMES[better].replace('mask', 'ticket', 1)} is more accurate than the "
                        f"{CONTENT_NAMES[worse].replace('mask', 'ticket', 1)}")


def criteria_claims(source: Source) -> list[Claim]:
    """Large final beats random and large initial magnitude; magnitude increase does as well as large final."""
    return [criterion_beats(source, "one_shot", "mask_random"), criterion_beats(source, "one_shot", "mask_large_init"),
            _tolerant(source, "mask_magnitude_increase", "one_shot", "Zhou et al. Sec. 2",
                      "Keeping weights whose magnitude grew does as well as keeping large final ones")]
