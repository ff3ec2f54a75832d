"""What the app sends out on its own: ``links`` mails a shopper the signed links to their orders."""
