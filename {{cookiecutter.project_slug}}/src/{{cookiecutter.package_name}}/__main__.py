from {{ cookiecutter.package_name }}.cli import app

app()
