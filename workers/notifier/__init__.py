"""The notifier: schedules reminders from task events, fires them once, delivers them."""
