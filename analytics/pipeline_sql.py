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

# How far the deals opened in the period got: their furthest non-lost stage (kept on the
# opportunity by every move: skipped stages count as passed, a deal moved from stage 1 to
# stage 3 reached stage 2) and whether they are lost now. One row per group and position.
FUNNEL = """
SELECT o.pipeline_id, {grp} AS grp, o.reached_position AS position, count(*) AS deals,
       count(*) FILTER (WHERE s.outcome = 'lost') AS lost
FROM opportunities o
JOIN pipeline_stages s ON s.id = o.stage_id
WHERE {where} AND {in_period}
GROUP BY o.pipeline_id, {grp}, o.reached_position
"""

# Deals closed in the period by outcome: counts, won amounts and cycle length. Amounts
# only of deals in the report's currency; the others are counted apart.
OUTCOMES = """
SELECT o.pipeline_id, {grp} AS grp, s.outcome::text AS outcome,
       count(*) AS deals,
       count(*) FILTER (WHERE o.currency <> :currency) AS other_currency,
       sum(o.amount) FILTER (WHERE o.currency = :currency) AS amount,
       avg(o.amount) FILTER (WHERE o.currency = :currency) AS average_amount,
       avg(date_part('epoch', o.closed_at - o.opened_at) / 86400) AS cycle_days
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
# stage, median and p90 as percentile_cont does them (linear between the two nearest
# stays). The durations of each group are collected by a hash aggregate into an array and
# sorted once per group: feeding percentile_cont from the GROUP BY would sort the whole
# history by group first and then each group again (PostgreSQL 15). Durations are float
# seconds (date_part: sorting numeric would cost several times more). The opportunity is
# joined only when the filters or the grouping need it (`{join}`; every filter is on
# `o`): the whole company's stays are read from the history alone. The pipeline comes
# from the stage, in Python.
STAGE_TIMES = """
SELECT g.grp, g.stage_id, g.stays,
       (SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY x) FROM unnest(g.d) x) AS p
FROM (
    SELECT {grp} AS grp, h.stage_id, count(*) AS stays,
           array_agg(date_part('epoch', h.left_at - h.entered_at)) AS d
    FROM opportunity_stage_history h
    {join}
    WHERE {where} AND h.left_at IS NOT NULL AND {in_period}
    GROUP BY {grp}, h.stage_id
) g
"""
JOIN_OPPORTUNITY = "JOIN opportunities o ON o.id = h.opportunity_id"

# The same for the whole company, all time, as one group (no filter but the pipelines'
# stages): each stage's ended stays are counted, and the two stays around each
# percentile's rank are read by position from ix_opportunity_stage_history_seconds
# (stage, seconds) — an index walk up to the rank instead of sorting a million stays.
# Python interpolates between the two as percentile_cont does.
STAGE_TIMES_BY_RANK = """
WITH c AS (
    SELECT h.stage_id, count(*) AS stays
    FROM opportunity_stage_history h
    WHERE h.left_at IS NOT NULL AND h.stage_id = ANY(:stage_ids)
    GROUP BY h.stage_id
)
SELECT c.stage_id, c.stays,
       ARRAY(SELECT r.seconds FROM opportunity_stage_history r
             WHERE r.stage_id = c.stage_id AND r.left_at IS NOT NULL
             ORDER BY r.seconds OFFSET floor(0.5 * (c.stays - 1)) LIMIT 2) AS around_p50,
       ARRAY(SELECT r.seconds FROM opportunity_stage_history r
             WHERE r.stage_id = c.stage_id AND r.left_at IS NOT NULL
             ORDER BY r.seconds OFFSET floor(0.9 * (c.stays - 1)) LIMIT 2) AS around_p90
FROM c
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
