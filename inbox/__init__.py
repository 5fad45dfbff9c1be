"""The unified social inbox: the web app and the domain, one package per step of the data path."""
