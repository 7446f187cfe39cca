import distutils.sysconfig


def handler(event, context):
    return distutils.sysconfig.get_python_version()
