"""Scrapy add-ons: settings that follow from other settings."""
