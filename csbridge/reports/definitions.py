"""What each metric means, in words: carried in every JSON report, listed in
docs/metrics.md (a test keeps the two equal), and the names readers see."""

from __future__ import annotations

DEFINITIONS: dict[str, str] = {
    "grr": "Gross revenue retention: (ARR at the start - churned ARR - contraction) / ARR at "
    "the start, over the accounts that had ARR at the start of the period.",
    "nrr": "Net revenue retention: (ARR at the start - churned ARR - contraction + expansion) "
    "/ ARR at the start; the same as those accounts' ARR at the end / ARR at the start.",
    "churned_arr": "The start ARR of accounts with ARR at the start and none at the end "
    "(a lost renewal ends an account's ARR on its close date).",
    "contraction": "For accounts still paying at the end: the sum of (start ARR - end ARR) "
    "where it fell (won downgrade deals).",
    "expansion": "For accounts still paying at the end: the sum of (end ARR - start ARR) where "
    "it grew (won upsell deals). New logos are not expansion.",
    "logo_churn": "Accounts with ARR at the start and none at the end / accounts with ARR at "
    "the start.",
    "renewal_rate": "Renewal deals closed won in the period / renewal deals closed (won or "
    "lost) in the period, by count.",
    "expansion_share": "Expansion ARR of the period / total ARR at the end of the period.",
    "time_to_first_value": "Days from an account's start (its creation in the CRM) to its "
    "first day using a key feature (any feature when none is configured); only accounts "
    "whose start is inside the stored usage history count. Median over those accounts.",
    "nps": "% promoters (9-10) - % detractors (0-6) over the answers of the period, -100 to +100.",
    "csat": "Top-2-box: share of answers in the two highest points of their scale "
    "(a good/bad rating counts as satisfied when good).",
    "ces": "Customer effort, 1 (very hard) to 7 (very easy): mean of the answers; "
    "low-effort share is the share of answers 5-7.",
    "health_distribution": "Accounts per status band of their latest score, per owner and "
    "per segment.",
    "csm_load": "Per owner and segment: accounts / the segment's accounts-per-CSM ratio "
    "(1:30 and 15 accounts = 50 %); an owner's load is the sum over their segments, "
    "100 % being one CSM's full book. Accounts whose segment has no ratio are left out.",
    "tasks_per_rule": "Tasks csbridge created in the CRMs, per playbook rule (a task in "
    "both CRMs counts once); completion rate: the share a CSM completed, as read back from "
    "the CRMs; closed by csbridge: still open when their episode ended.",
    "churn_risk_recovery": "Of the churn-risk episodes opened, the share that ended (the "
    "account back above the threshold, by the rules' margin) within 60 days of opening "
    "(episodes running for less than 60 days are left out).",
    "touchpoint_cadence": "Accounts whose every touchpoint of their segment's cadence was "
    "met within its period (a CRM activity it counts) / accounts measured, as the latest "
    "run found them; segments without a cadence (low and tech touch) are not measured.",
}

NAMES: dict[str, str] = {
    "grr": "GRR",
    "nrr": "NRR",
    "churned_arr": "Churned ARR",
    "contraction": "Contraction",
    "expansion": "Expansion",
    "logo_churn": "Logo churn",
    "renewal_rate": "Renewal rate",
    "expansion_share": "Expansion share",
    "time_to_first_value": "Time to first value",
    "nps": "NPS",
    "csat": "CSAT",
    "ces": "CES",
    "health_distribution": "Health distribution",
    "csm_load": "CSM load",
    "tasks_per_rule": "Tasks per rule",
    "churn_risk_recovery": "Churn-risk recovery",
    "touchpoint_cadence": "Touchpoint cadence",
}
"""What a person reads for each metric in DEFINITIONS."""
