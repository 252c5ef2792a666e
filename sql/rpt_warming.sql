-- IP warming per retailer, pool and day: the pool's warming state and the retailer's
-- email cap that day (warming_schedule), the email it sent, the share of its cap that
-- used, and whether its pool reached the capacity alert share that day.
with email_sent as (
    select
        retailer_id,
        ip_pool,
        to_date(completed_at) as sent_on,
        count(*) as email_sent
    from fct_message_sends
    where status = 'sent' and channel = 'email'
    group by retailer_id, ip_pool, to_date(completed_at)
),

alerts as (
    select
        retailer_id,
        ip_pool,
        alert_date,
        max(utilization) as pool_utilization
    from capacity_alerts
    group by retailer_id, ip_pool, alert_date
),

final as (
    select
        schedule.retailer_id,
        schedule.ip_pool,
        schedule.schedule_date,
        schedule.state,
        schedule.step,
        schedule.pool_daily_cap,
        schedule.daily_cap,
        coalesce(email_sent.email_sent, 0) as email_sent,
        coalesce(email_sent.email_sent, 0) / nullif(schedule.daily_cap, 0) as cap_used,
        schedule.reason,
        alerts.pool_utilization,
        alerts.alert_date is not null as has_capacity_alert
    from warming_schedule as schedule
    left join email_sent
        on schedule.retailer_id = email_sent.retailer_id
        and schedule.ip_pool = email_sent.ip_pool
        and schedule.schedule_date = email_sent.sent_on
    left join alerts
        on schedule.retailer_id = alerts.retailer_id
        and schedule.ip_pool = alerts.ip_pool
        and schedule.schedule_date = alerts.alert_date
)

select * from final
