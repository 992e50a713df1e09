"""The SQL of the pipeline report (analytics/pipeline.py), one statement per section.

Every statement groups by `o.pipeline_id` and a group key `{grp}` (a constant, the team
or the owner) and is filtered by `{where}`, a conjunction of fixed fragments over the
opportunity `o` with bound values (visibility, pipeline, team, rep). Period bounds are
bound parameters `:t0` / `:t1` (UTC instants of the first company-local day's midnight
and of the day after the last). Nothing from the request is ever
formatted into the text.
"""

# `{in_period}` is `<instant> >= :t0 AND <instant> < :t1` (either side left out when open)
# on a different instant per section (docs/pipeline.md):
#   funnel       o.opened_at: a cohort of the deals opened in the period
#   outcomes     o.closed_at: deals won or lost in the period
#   stage times  h.left_at: stays that ended in the period
#   open         none: the deals open now, whatever the period

# The furthest non-lost stage each deal of the cohort ever reached (skipped stages count
# as passed: a deal moved from stage 1 to stage 3 reached stage 2), and whether it is
# lost now. One row per group and furthest position.
FUNNEL = """
WITH cohort AS (
    SELECT o.id, o.pipeline_id, {grp} AS grp
    FROM opportunities o
    WHERE {where} AND {in_period}
), furthest AS (
    SELECT c.pipeline_id, c.grp, c.id,
           max(s.position) FILTER (WHERE s.outcome <> 'lost') AS position,
           bool_or(s.outcome = 'lost' AND h.left_at IS NULL) AS lost_now
    FROM cohort c
    JOIN opportunity_stage_history h ON h.opportunity_id = c.id
    JOIN pipeline_stages s ON s.id = h.stage_id
    GROUP BY c.pipeline_id, c.grp, c.id
)
SELECT pipeline_id, grp, position, count(*) AS deals,
       count(*) FILTER (WHERE lost_now) AS lost
FROM furthest
GROUP BY pipeline_id, grp, position
"""

# Deals closed in the period by outcome: counts, won amounts and cycle length. Amounts
# only of deals in the report's currency; the others are counted apart.
OUTCOMES = """
SELECT o.pipeline_id, {grp} AS grp, s.outcome::text AS outcome,
       count(*) AS deals,
       count(*) FILTER (WHERE o.currency <> :currency) AS other_currency,
       sum(o.amount) FILTER (WHERE o.currency = :currency) AS amount,
       avg(o.amount) FILTER (WHERE o.currency = :currency) AS average_amount,
       avg(extract(epoch FROM o.closed_at - o.opened_at) / 86400) AS cycle_days
FROM opportunities o
JOIN pipeline_stages s ON s.id = o.stage_id
WHERE {where} AND s.outcome <> 'open' AND {in_period}
GROUP BY o.pipeline_id, {grp}, s.outcome
"""

LOST_REASONS = """
SELECT o.pipeline_id, {grp} AS grp, COALESCE(o.lost_reason, '') AS reason,
       count(*) AS deals,
       COALESCE(sum(o.amount) FILTER (WHERE o.currency = :currency), 0) AS amount
FROM opportunities o
JOIN pipeline_stages s ON s.id = o.stage_id
WHERE {where} AND s.outcome = 'lost' AND {in_period}
GROUP BY o.pipeline_id, {grp}, COALESCE(o.lost_reason, '')
ORDER BY count(*) DESC, reason
"""

# Completed stays (left_at set) that ended in the period: how long deals sit in each
# stage. percentile_cont interpolates linearly between the two nearest stays.
STAGE_TIMES = """
SELECT o.pipeline_id, {grp} AS grp, h.stage_id, count(*) AS stays,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM h.left_at - h.entered_at))
           AS median_s,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM h.left_at - h.entered_at))
           AS p90_s
FROM opportunity_stage_history h
JOIN opportunities o ON o.id = h.opportunity_id
WHERE {where} AND h.left_at IS NOT NULL AND {in_period}
GROUP BY o.pipeline_id, {grp}, h.stage_id
"""

# Deals open now, by expected close month (NULL: no date): amounts and amounts weighted
# by the deal's probability, else its stage's.
OPEN = """
SELECT o.pipeline_id, {grp} AS grp,
       to_char(date_trunc('month', o.expected_close), 'YYYY-MM') AS month,
       count(*) AS deals,
       count(*) FILTER (WHERE o.currency <> :currency) AS other_currency,
       COALESCE(sum(o.amount) FILTER (WHERE o.currency = :currency), 0) AS amount,
       COALESCE(sum(o.amount * COALESCE(o.probability, s.probability) / 100)
                FILTER (WHERE o.currency = :currency), 0) AS weighted
FROM opportunities o
JOIN pipeline_stages s ON s.id = o.stage_id
WHERE {where} AND s.outcome = 'open'
GROUP BY o.pipeline_id, {grp}, month
ORDER BY month NULLS LAST
"""
