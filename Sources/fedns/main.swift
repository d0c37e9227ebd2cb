print("fedns: under construction")
