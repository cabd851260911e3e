"""The review app (Textual). Nothing here is imported by the headless commands.

`launch.run_app` opens the store and runs `app.EvaltuiApp`. Screens live in `screens/`, reusable
widgets in `widgets/`; every query runs in a thread worker through `screens.base.ReviewScreen.fetch`
and reaches the store only through `evaltui.review` and `evaltui.store` functions.
"""
