"""What this repository generates and checks about itself: `todo`, placeholders, the from-zero
guide, the configuration reference, the delivery files and the network diagram."""
