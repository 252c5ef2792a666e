-- Experiment readout per campaign and variant, each against the campaign's control
-- (dim_variants.is_control: the variant named 'control', else the first one).
-- Conversion is any order within the conversion window after the send.
-- Lift = (conversion rate - control's) / control's; its interval is the difference's
-- (unpooled normal approximation, at dim_reporting_settings.confidence) over control's
-- rate; the p-value is the two-sided two-proportion z-test (pooled), with the normal
-- tail from Abramowitz and Stegun 26.2.17 (error below 1e-7).
with settings as (
    select * from dim_reporting_settings
),

arms as (
    select
        recipients.retailer_id,
        recipients.campaign_id,
        recipients.variant_id,
        count(*) as recipients,
        sum(cast(recipients.is_sent as bigint)) as sent,
        sum(cast(recipients.is_delivered as bigint)) as delivered,
        sum(cast(recipients.is_opened as bigint)) as opened,
        sum(cast(recipients.is_clicked as bigint)) as clicked,
        sum(cast(recipients.has_converted as bigint)) as converters,
        sum(recipients.revenue_cents) as revenue_cents
    from fct_campaign_recipients as recipients
    where not recipients.is_holdout
    group by recipients.retailer_id, recipients.campaign_id, recipients.variant_id
),

rates as (
    select
        arms.*,
        dim_variants.is_control,
        opened / nullif(delivered, 0) as open_rate,
        clicked / nullif(delivered, 0) as click_rate,
        converters / recipients as conversion_rate,
        revenue_cents / recipients as revenue_per_recipient_cents
    from arms
    left join dim_variants
        on arms.retailer_id = dim_variants.retailer_id
        and arms.campaign_id = dim_variants.campaign_id
        and arms.variant_id = dim_variants.variant_id
),

against_control as (
    select
        variant.*,
        control.variant_id as control_variant_id,
        control.recipients as control_recipients,
        control.converters as control_converters,
        control.conversion_rate as control_conversion_rate,
        variant.conversion_rate - control.conversion_rate as difference,
        sqrt(
            variant.conversion_rate * (1 - variant.conversion_rate) / variant.recipients
            + control.conversion_rate * (1 - control.conversion_rate) / control.recipients
        ) as unpooled_se,
        sqrt(
            (variant.converters + control.converters)
            / (variant.recipients + control.recipients)
            * (1 - (variant.converters + control.converters)
                / (variant.recipients + control.recipients))
            * (1 / variant.recipients + 1 / control.recipients)
        ) as pooled_se
    from rates as variant
    left join rates as control
        on variant.retailer_id = control.retailer_id
        and variant.campaign_id = control.campaign_id
        and control.is_control
),

tested as (
    select
        against_control.*,
        settings.z_critical,
        case when not is_control then abs(difference) / nullif(pooled_se, 0) end as abs_z,
        recipients < settings.min_recipients_per_arm
            or control_recipients < settings.min_recipients_per_arm
            or converters < settings.min_conversions_per_arm
            or control_converters < settings.min_conversions_per_arm
            as is_sample_too_small
    from against_control
    cross join settings
),

final as (
    select
        retailer_id,
        campaign_id,
        variant_id,
        is_control,
        recipients,
        sent,
        delivered,
        opened,
        clicked,
        open_rate,
        click_rate,
        converters,
        conversion_rate,
        revenue_cents,
        revenue_per_recipient_cents,
        control_variant_id,
        case when not is_control
            then difference / nullif(control_conversion_rate, 0) end as lift,
        case when not is_control
            then (difference - z_critical * unpooled_se) / nullif(control_conversion_rate, 0)
        end as lift_ci_low,
        case when not is_control
            then (difference + z_critical * unpooled_se) / nullif(control_conversion_rate, 0)
        end as lift_ci_high,
        -- two-sided p = 2 * phi(z) * (b1 t + b2 t^2 + ... + b5 t^5), t = 1 / (1 + 0.2316419 z)
        case when abs_z is not null then least(1.0,
            2 * exp(-abs_z * abs_z / 2) / sqrt(2 * pi())
            * (0.319381530 * (1 / (1 + 0.2316419 * abs_z))
                - 0.356563782 * pow(1 / (1 + 0.2316419 * abs_z), 2)
                + 1.781477937 * pow(1 / (1 + 0.2316419 * abs_z), 3)
                - 1.821255978 * pow(1 / (1 + 0.2316419 * abs_z), 4)
                + 1.330274429 * pow(1 / (1 + 0.2316419 * abs_z), 5)))
        end as p_value,
        coalesce(is_sample_too_small, true) as is_sample_too_small
    from tested
)

select * from final
