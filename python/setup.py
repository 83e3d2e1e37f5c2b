# The wheel carries libeinloom.so (a Linux x86-64 binary) but no Python
# extension: tag it py3-none-<platform>, one wheel for every Python 3.
from setuptools import setup

cmdclass = {}
try:
    from wheel.bdist_wheel import bdist_wheel

    class PlatformWheel(bdist_wheel):
        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            return "py3", "none", super().get_tag()[2]

    cmdclass["bdist_wheel"] = PlatformWheel
except ImportError:  # no wheel package: `pip install` still works
    pass

setup(cmdclass=cmdclass)
