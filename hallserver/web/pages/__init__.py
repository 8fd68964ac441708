"""The page blueprints (home, staff, citizen, feedback, booking, dashboard, admin); ``web`` registers them."""
