-- Each variant's rate on an adaptive run's metric, estimated so that the changing
-- allocation does not bias it.
--
-- The bandit gave the leader most of the later waves, and waves differ (sent hours
-- apart: time of day, the news). The pooled rate (all of a variant's sends together)
-- weighs each wave by how much the bandit happened to send it there, so a variant sent
-- mostly in a good wave looks better than it is. The wave-stratified rate weighs each
-- wave's rate by that wave's share of the run's sends (W_k), whatever the variant got:
-- the rate it would have had sent to the whole run's audience over the same waves.
-- Its standard error is sqrt(sum W_k^2 p_k (1 - p_k) / n_k) / sum W_k (waves are
-- independent samples), with p_k = (s + 1) / (n + 2) in the variance so a wave of few
-- sends and no success does not claim certainty; the interval is normal at
-- dim_reporting_settings.confidence. A variant sent nothing in a wave (weight 0 after
-- the stop) is estimated over the waves it was sent in: `share_covered` says how much of
-- the run that is. `estimator` names the estimate `rate` holds.
with settings as (
    select z_critical from dim_reporting_settings
),

waves as (
    select * from rpt_allocation_waves
),

wave_sizes as (
    select retailer_id, campaign_id, run_id, wave, sum(sent) as wave_sent
    from waves
    group by retailer_id, campaign_id, run_id, wave
),

run_sizes as (
    select retailer_id, campaign_id, run_id, sum(wave_sent) as run_sent
    from wave_sizes
    group by retailer_id, campaign_id, run_id
),

strata as (
    select
        waves.retailer_id,
        waves.campaign_id,
        waves.run_id,
        waves.variant_id,
        waves.metric,
        waves.sent,
        waves.successes,
        waves.rate,
        (waves.successes + 1) / (waves.sent + 2) as smoothed_rate,
        wave_sizes.wave_sent / run_sizes.run_sent as wave_share
    from waves
    inner join wave_sizes
        on waves.retailer_id = wave_sizes.retailer_id
        and waves.campaign_id = wave_sizes.campaign_id
        and waves.run_id = wave_sizes.run_id
        and waves.wave = wave_sizes.wave
    inner join run_sizes
        on waves.retailer_id = run_sizes.retailer_id
        and waves.campaign_id = run_sizes.campaign_id
        and waves.run_id = run_sizes.run_id
    where waves.sent > 0
),

estimates as (
    select
        retailer_id,
        campaign_id,
        run_id,
        variant_id,
        max(metric) as metric,
        count(*) as waves_sent,
        sum(sent) as sent,
        sum(successes) as successes,
        sum(successes) / sum(sent) as pooled_rate,
        sum(wave_share * rate) / sum(wave_share) as stratified_rate,
        sqrt(sum(pow(wave_share, 2) * smoothed_rate * (1 - smoothed_rate) / sent))
            / sum(wave_share) as stratified_se,
        sum(wave_share) as share_covered
    from strata
    group by retailer_id, campaign_id, run_id, variant_id
),

winners as (
    select distinct retailer_id, campaign_id, run_id, winner_variant_id
    from variant_allocations
    where is_stopped
),

final as (
    select
        estimates.retailer_id,
        estimates.campaign_id,
        estimates.run_id,
        estimates.variant_id,
        estimates.metric,
        estimates.waves_sent,
        estimates.sent,
        estimates.successes,
        case when estimates.waves_sent > 1 then 'wave-stratified' else 'single wave' end
            as estimator,
        estimates.stratified_rate as rate,
        estimates.stratified_rate - settings.z_critical * estimates.stratified_se as rate_ci_low,
        estimates.stratified_rate + settings.z_critical * estimates.stratified_se
            as rate_ci_high,
        estimates.share_covered,
        estimates.pooled_rate,
        estimates.pooled_rate - settings.z_critical
            * sqrt(estimates.pooled_rate * (1 - estimates.pooled_rate) / estimates.sent)
            as pooled_ci_low,
        estimates.pooled_rate + settings.z_critical
            * sqrt(estimates.pooled_rate * (1 - estimates.pooled_rate) / estimates.sent)
            as pooled_ci_high,
        coalesce(winners.winner_variant_id = estimates.variant_id, false) as is_winner
    from estimates
    cross join settings
    left join winners
        on estimates.retailer_id = winners.retailer_id
        and estimates.campaign_id = winners.campaign_id
        and estimates.run_id = winners.run_id
)

select * from final
