package pyindex

// The standard library's top-level module names per Python version.
//
// stdlib311 is sys.stdlib_module_names of CPython 3.11.7, printed on the
// development machine with
//
//	python3 -c 'import sys; print(" ".join(sorted(sys.stdlib_module_names)))'
//
// and wrapped. The other versions are derived from it by the additions and
// removals of each release's "What's New" (PEP 594's removals in 3.13,
// distutils' in 3.12 and so on), written out in stdlibChanges below.
const stdlib311 = `
__future__ _abc _aix_support _ast _asyncio _bisect _blake2 _bootsubprocess _bz2 _codecs _codecs_cn
_codecs_hk _codecs_iso2022 _codecs_jp _codecs_kr _codecs_tw _collections _collections_abc
_compat_pickle _compression _contextvars _crypt _csv _ctypes _curses _curses_panel _datetime _dbm
_decimal _elementtree _frozen_importlib _frozen_importlib_external _functools _gdbm _hashlib _heapq
_imp _io _json _locale _lsprof _lzma _markupbase _md5 _msi _multibytecodec _multiprocessing _opcode
_operator _osx_support _overlapped _pickle _posixshmem _posixsubprocess _py_abc _pydecimal _pyio
_queue _random _scproxy _sha1 _sha256 _sha3 _sha512 _signal _sitebuiltins _socket _sqlite3 _sre _ssl
_stat _statistics _string _strptime _struct _symtable _thread _threading_local _tkinter _tokenize
_tracemalloc _typing _uuid _warnings _weakref _weakrefset _winapi _zoneinfo abc aifc antigravity
argparse array ast asynchat asyncio asyncore atexit audioop base64 bdb binascii bisect builtins bz2
cProfile calendar cgi cgitb chunk cmath cmd code codecs codeop collections colorsys compileall
concurrent configparser contextlib contextvars copy copyreg crypt csv ctypes curses dataclasses
datetime dbm decimal difflib dis distutils doctest email encodings ensurepip enum errno faulthandler
fcntl filecmp fileinput fnmatch fractions ftplib functools gc genericpath getopt getpass gettext
glob graphlib grp gzip hashlib heapq hmac html http idlelib imaplib imghdr imp importlib inspect io
ipaddress itertools json keyword lib2to3 linecache locale logging lzma mailbox mailcap marshal math
mimetypes mmap modulefinder msilib msvcrt multiprocessing netrc nis nntplib nt ntpath nturl2path
numbers opcode operator optparse os ossaudiodev pathlib pdb pickle pickletools pipes pkgutil
platform plistlib poplib posix posixpath pprint profile pstats pty pwd py_compile pyclbr pydoc
pydoc_data pyexpat queue quopri random re readline reprlib resource rlcompleter runpy sched secrets
select selectors shelve shlex shutil signal site smtpd smtplib sndhdr socket socketserver spwd
sqlite3 sre_compile sre_constants sre_parse ssl stat statistics string stringprep struct subprocess
sunau symtable sys sysconfig syslog tabnanny tarfile telnetlib tempfile termios textwrap this
threading time timeit tkinter token tokenize tomllib trace traceback tracemalloc tty turtle
turtledemo types typing unicodedata unittest urllib uu uuid venv warnings wave weakref webbrowser
winreg winsound wsgiref xdrlib xml xmlrpc zipapp zipfile zipimport zlib zoneinfo
`

// stdlibChanges lists, per version, the modules that version added (+) and
// removed (-) relative to the one before it. 3.8 to 3.10 are reached by undoing
// the changes of 3.9 to 3.11 backwards from 3.11.
var stdlibChanges = map[string]struct{ added, removed string }{
	"3.9":  {added: "graphlib zoneinfo _zoneinfo _peg_parser", removed: "dummy_threading _dummy_thread"},
	"3.10": {added: "", removed: "parser symbol formatter _bootlocale _peg_parser"},
	"3.11": {added: "tomllib _tokenize", removed: "binhex"},
	"3.12": {
		added:   "_pydatetime _pylong _sha2 _wmi",
		removed: "asynchat asyncore distutils imp smtpd _bootsubprocess _sha256 _sha512",
	},
	"3.13": {
		added: "_android_support _apple_support _colorize _interpchannels _interpqueues _interpreters " +
			"_ios_support _opcode_metadata _pyrepl _suggestions _sysconfig",
		removed: "aifc audioop cgi cgitb chunk crypt imghdr lib2to3 mailcap msilib nis nntplib ossaudiodev " +
			"pipes sndhdr spwd sunau telnetlib uu xdrlib _crypt _msi",
	},
}
