-- Per campaign: sends, delivery, opens, clicks, attributed conversions and revenue,
-- incremental revenue against the holdout, cost and ROI. ROI is incremental when
-- the campaign has a holdout and on attributed revenue otherwise (roi_basis says).
with message_counts as (
    select
        retailer_id,
        campaign_id,
        sum(cast(status = 'sent' as bigint)) as sends,
        sum(cast(status = 'sent' and is_delivered as bigint)) as delivered,
        sum(cast(status = 'sent' and is_opened as bigint)) as opens,
        sum(cast(status = 'sent' and is_clicked as bigint)) as clicks
    from fct_message_sends
    group by retailer_id, campaign_id
),

attributed_counts as (
    select
        retailer_id,
        campaign_id,
        count(*) as conversions,
        sum(revenue_cents) as attributed_revenue_cents
    from attributed_orders
    group by retailer_id, campaign_id
),

roi_by_campaign as (
    select
        retailer_id,
        campaign_id,
        sum(incremental_revenue_cents) as incremental_revenue_cents,
        sum(total_cost_cents) as total_cost_cents,
        max(holdout_recipients) as holdout_recipients
    from rpt_campaign_roi
    group by retailer_id, campaign_id
),

final as (
    select
        message_counts.retailer_id,
        message_counts.campaign_id,
        message_counts.sends,
        message_counts.delivered,
        message_counts.delivered / nullif(message_counts.sends, 0) as delivery_rate,
        message_counts.opens,
        message_counts.clicks,
        coalesce(attributed_counts.conversions, 0) as conversions,
        coalesce(attributed_counts.attributed_revenue_cents, 0) as attributed_revenue_cents,
        roi_by_campaign.incremental_revenue_cents,
        roi_by_campaign.total_cost_cents,
        case when roi_by_campaign.holdout_recipients is not null
            then 'incremental' else 'attributed' end as roi_basis,
        (coalesce(roi_by_campaign.incremental_revenue_cents,
                attributed_counts.attributed_revenue_cents, 0)
            - roi_by_campaign.total_cost_cents)
            / nullif(roi_by_campaign.total_cost_cents, 0) as roi
    from message_counts
    left join attributed_counts
        on message_counts.retailer_id = attributed_counts.retailer_id
        and message_counts.campaign_id = attributed_counts.campaign_id
    left join roi_by_campaign
        on message_counts.retailer_id = roi_by_campaign.retailer_id
        and message_counts.campaign_id = roi_by_campaign.campaign_id
)

select * from final
