"""Renditions of an Alert: email text, AWS Chatbot custom notification, SNS subject."""
