"""Message text as providers see it: Liquid rendered strictly, and what a text costs in
SMS segments. Shared by the template library (validation, preview, deploy) and the
providers (an SMS provider stores no templates: its client renders), depending on
neither."""
