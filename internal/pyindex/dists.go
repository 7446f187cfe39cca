package pyindex

// The distribution data is curated by hand from the packages' own metadata
// (their top_level.txt / RECORD and Requires-Dist) for the few hundred
// distributions Python backends use most. Keep each table sorted by topic.

// importNames maps an import name to the distribution that provides it, one
// per line: "import dist", or just "name" when the two are spelled the same.
// At its end, the modules that later Pythons dropped from the standard
// library, with the distributions that carry them on.
// When several distributions provide a name, the first line names the one to
// suggest; the others are listed in extraProvides.
const importNames = `
fastapi
fastapi_cli fastapi-cli
starlette
pydantic
pydantic_core pydantic-core
pydantic_settings pydantic-settings
pydantic_extra_types pydantic-extra-types
mangum
uvicorn
gunicorn
hypercorn
asgiref
a2wsgi
apig_wsgi apig-wsgi
serverless_wsgi serverless-wsgi
awsgi aws-wsgi
flask Flask
flask_cors Flask-Cors
flask_sqlalchemy Flask-SQLAlchemy
flask_login Flask-Login
flask_wtf Flask-WTF
flask_migrate Flask-Migrate
flask_restful Flask-RESTful
flask_jwt_extended Flask-JWT-Extended
werkzeug Werkzeug
jinja2 Jinja2
markupsafe MarkupSafe
itsdangerous
blinker
click
django Django
rest_framework djangorestframework
corsheaders django-cors-headers
aiohttp
aiohappyeyeballs
aiosignal
frozenlist
multidict
propcache
yarl
aiofiles
httpx
httpcore
h11
h2
hpack
hyperframe
anyio
sniffio
idna
certifi
charset_normalizer charset-normalizer
chardet
urllib3
requests
requests_toolbelt requests-toolbelt
requests_aws4auth requests-aws4auth
aws_requests_auth aws-requests-auth
requests_oauthlib requests-oauthlib
oauthlib
websockets
websocket websocket-client
multipart python-multipart
python_multipart python-multipart
email_validator email-validator
dns dnspython
typing_extensions typing-extensions
annotated_types annotated-types
typing_inspection typing-inspection
typing_inspect typing-inspect
mypy_extensions mypy-extensions
sse_starlette sse-starlette
slowapi
limits
strawberry strawberry-graphql
graphene
graphql graphql-core
ariadne
chalice
zappa
aws_lambda_powertools aws-lambda-powertools
aws_xray_sdk aws-xray-sdk
awslambdaric
boto3
botocore
s3transfer
jmespath
awscrt
aiobotocore
aioboto3
s3fs
fsspec
moto
mypy_boto3_s3 mypy-boto3-s3
mypy_boto3_dynamodb mypy-boto3-dynamodb
mypy_boto3_sqs mypy-boto3-sqs
mypy_boto3_lambda mypy-boto3-lambda
aws_encryption_sdk aws-encryption-sdk
numpy
pandas
scipy
sklearn scikit-learn
skimage scikit-image
matplotlib
mpl_toolkits matplotlib
seaborn
plotly
statsmodels
sympy
mpmath
networkx
numba
llvmlite
pyarrow
polars
duckdb
xlrd
xlwt
openpyxl
xlsxwriter XlsxWriter
docx python-docx
pptx python-pptx
PyPDF2
pypdf
fitz PyMuPDF
pymupdf PyMuPDF
pdfplumber
pdfminer pdfminer.six
reportlab
weasyprint
pdfkit
tabulate
prettytable
PIL Pillow
cv2 opencv-python
imageio
pytesseract
qrcode
barcode python-barcode
torch
torchvision
tensorflow
keras
transformers
tokenizers
huggingface_hub huggingface-hub
datasets
safetensors
sentence_transformers sentence-transformers
openai
anthropic
tiktoken
jiter
distro
langchain
langchain_core langchain-core
langchain_community langchain-community
langchain_openai langchain-openai
langchain_aws langchain-aws
langchain_text_splitters langchain-text-splitters
langsmith
llama_index llama-index
faiss faiss-cpu
chromadb
pinecone
onnxruntime
xgboost
lightgbm
catboost
joblib
threadpoolctl
tqdm
nltk
spacy
gensim
regex
rapidfuzz
thefuzz
fuzzywuzzy
Levenshtein
unidecode Unidecode
emoji
langdetect
textblob
sqlalchemy SQLAlchemy
alembic
sqlmodel
databases
greenlet
psycopg2 psycopg2-binary
psycopg
asyncpg
pymysql PyMySQL
MySQLdb mysqlclient
mysql.connector mysql-connector-python
aiomysql
pymssql
pyodbc
cx_Oracle cx-Oracle
oracledb
pymongo
bson pymongo
gridfs pymongo
motor
mongoengine
redis
elasticsearch
elastic_transport elastic-transport
elasticsearch_dsl elasticsearch-dsl
opensearchpy opensearch-py
cassandra cassandra-driver
pynamodb
peewee
tortoise tortoise-orm
snowflake.connector snowflake-connector-python
sqlparse
neo4j
influxdb_client influxdb-client
clickhouse_connect clickhouse-connect
kafka kafka-python
confluent_kafka confluent-kafka
pika
kombu
celery
amqp
vine
billiard
rq
dramatiq
apscheduler APScheduler
schedule
pymemcache
yaml PyYAML
ruamel.yaml ruamel.yaml
toml
tomli
tomli_w tomli-w
tomlkit
dotenv python-dotenv
decouple python-decouple
environs
dynaconf
simplejson
ujson
orjson
msgpack
cbor2
msgspec
jsonschema
jsonschema_specifications jsonschema-specifications
referencing
rpds rpds-py
attr attrs
attrs
cattrs
marshmallow
dataclasses_json dataclasses-json
xmltodict
lxml
bs4 beautifulsoup4
soupsieve
html5lib
markdown Markdown
markdown2
mistune
markdown_it markdown-it-py
mdurl
pygments Pygments
bleach
defusedxml
jsonpath_ng jsonpath-ng
ply
jsonpointer
jsonpatch
jsonpickle
dill
cloudpickle
google.protobuf protobuf
grpc grpcio
grpc_status grpcio-status
grpc_tools grpcio-tools
proto proto-plus
google.api_core google-api-core
google.auth google-auth
google.oauth2 google-auth
google.api googleapis-common-protos
google.rpc googleapis-common-protos
google.type googleapis-common-protos
google.cloud.storage google-cloud-storage
google.cloud.bigquery google-cloud-bigquery
google.cloud.pubsub google-cloud-pubsub
google.cloud.pubsub_v1 google-cloud-pubsub
google.cloud.firestore google-cloud-firestore
google.cloud.secretmanager google-cloud-secret-manager
google.cloud.logging google-cloud-logging
google.cloud.client google-cloud-core
google.generativeai google-generativeai
googleapiclient google-api-python-client
google_auth_oauthlib google-auth-oauthlib
httplib2
firebase_admin firebase-admin
azure.core azure-core
azure.identity azure-identity
azure.storage.blob azure-storage-blob
azure.keyvault.secrets azure-keyvault-secrets
azure.cosmos azure-cosmos
azure.servicebus azure-servicebus
azure.functions azure-functions
msal
jwt PyJWT
jose python-jose
jwcrypto
authlib Authlib
cryptography
Crypto pycryptodome
Cryptodome pycryptodomex
nacl PyNaCl
bcrypt
passlib
argon2 argon2-cffi
OpenSSL pyOpenSSL
cffi
pycparser
rsa
ecdsa
pyasn1
pyasn1_modules pyasn1-modules
paramiko
pysftp
fabric
keyring
hvac
truststore
ldap3
saml2 pysaml2
xmlsec
zeep
dateutil python-dateutil
pytz
tzdata
tzlocal
pendulum
arrow
dateparser
babel Babel
humanize
iso8601
isodate
six
packaging
setuptools
pkg_resources setuptools
distutils setuptools
wheel
pip
importlib_metadata importlib-metadata
importlib_resources importlib-resources
zipp
more_itertools more-itertools
toolz
cytoolz
funcy
boltons
sortedcontainers
cachetools
diskcache
cachecontrol CacheControl
tenacity
backoff
retry
retrying
wrapt
decorator
deprecated Deprecated
pluggy
colorama
termcolor
rich
typer
shellingham
loguru
structlog
pythonjsonlogger python-json-logger
sentry_sdk sentry-sdk
datadog
ddtrace
newrelic
prometheus_client prometheus-client
opentelemetry.trace opentelemetry-api
opentelemetry.context opentelemetry-api
opentelemetry.metrics opentelemetry-api
opentelemetry.propagate opentelemetry-api
opentelemetry.sdk opentelemetry-sdk
psutil
filelock
platformdirs
appdirs
pathspec
watchdog
pexpect
sh
docopt
fire
shortuuid
ulid python-ulid
nanoid
hashids
slugify python-slugify
inflection
validators
phonenumbers
pycountry
magic python-magic
filetype
mako Mako
chevron
tablib
sendgrid
python_http_client python-http-client
twilio
stripe
slack_sdk slack-sdk
slack_bolt slack-bolt
telegram python-telegram-bot
discord discord.py
tweepy
github PyGithub
gitlab python-gitlab
git GitPython
jira
atlassian atlassian-python-api
notion_client notion-client
pyparsing
cycler
kiwisolver
fontTools fonttools
contourpy
pytest
_pytest pytest
mock
faker Faker
freezegun
responses
hypothesis
coverage
black
isort
flake8
mypy
pylint
iniconfig
exceptiongroup
async_timeout async-timeout
zope.interface zope.interface
twisted Twisted
gevent
eventlet
trio
uvloop
httptools
watchfiles
selenium
playwright
scrapy Scrapy
parsel
w3lib
tldextract
feedparser
geopy
shapely
pyproj
geopandas
h3
haversine
boto
avro
fastavro
snappy python-snappy
lz4
zstandard
brotli Brotli
xxhash
mmh3
blake3
pycurl
zmq pyzmq
serial pyserial
docker
kubernetes
deepdiff
box python-box
munch
addict
glom
semver
pydash
humps pyhumps
jsonref
jsonlines
cgi legacy-cgi
cgitb legacy-cgi
audioop audioop-lts
telnetlib standard-telnetlib
imghdr standard-imghdr
aifc standard-aifc
chunk standard-chunk
sndhdr standard-sndhdr
sunau standard-sunau
uu standard-uu
xdrlib standard-xdrlib
pipes standard-pipes
mailcap standard-mailcap
nntplib standard-nntplib
asyncore pyasyncore
asynchat pyasynchat
`

// extraProvides lists more import names of distributions: further modules
// of a distribution, and the distributions that provide a name another one
// is suggested for ("Dist: name name").
const extraProvides = `
setuptools: _distutils_hack
PyYAML: _yaml
cffi: _cffi_backend
pytest: py
awscrt: _awscrt
awslambdaric: runtime_client
opencv-python-headless: cv2
opencv-contrib-python: cv2
opencv-contrib-python-headless: cv2
psycopg2: psycopg2
psycopg-binary: psycopg_binary
tensorflow-cpu: tensorflow
faiss-gpu: faiss
pinecone-client: pinecone
google-api-python-client: apiclient
slack-sdk: slack
python-jose: jose
pycryptodome: Crypto
torch: torchgen functorch
mypy: mypyc
black: blib2to3 blackd
PyMuPDF: fitz pymupdf
Pillow: PIL
protobuf: google.protobuf
`

// requirements lists what a distribution installs with it ("dist: dep dep"),
// and what an extra adds ("dist[extra]: dep"), by normalised or PyPI name.
const requirements = `
fastapi: starlette pydantic typing-extensions
fastapi[standard]: fastapi-cli httpx jinja2 python-multipart email-validator uvicorn[standard]
fastapi[all]: fastapi-cli httpx jinja2 python-multipart email-validator uvicorn[standard] itsdangerous pyyaml ujson orjson pydantic-settings pydantic-extra-types
fastapi-cli: typer uvicorn[standard] rich-toolkit
starlette: anyio typing-extensions
anyio: idna sniffio typing-extensions
pydantic: pydantic-core typing-extensions annotated-types typing-inspection
pydantic[email]: email-validator
pydantic-core: typing-extensions
pydantic-settings: pydantic python-dotenv typing-inspection
typing-inspection: typing-extensions
mangum: typing-extensions
uvicorn: click h11
uvicorn[standard]: httptools python-dotenv pyyaml uvloop watchfiles websockets
watchfiles: anyio
gunicorn: packaging
hypercorn: h11 h2 priority wsproto
h2: hpack hyperframe
requests: urllib3 idna certifi charset-normalizer
requests[socks]: pysocks
requests-toolbelt: requests
requests-aws4auth: requests
aws-requests-auth: requests
requests-oauthlib: oauthlib requests
httpx: httpcore anyio certifi idna
httpcore: h11 certifi
boto3: botocore jmespath s3transfer
boto3[crt]: awscrt
botocore: urllib3 jmespath python-dateutil
botocore[crt]: awscrt
s3transfer: botocore
python-dateutil: six
aiobotocore: botocore aiohttp aioitertools jmespath multidict python-dateutil wrapt
aioboto3: aiobotocore aiofiles
s3fs: aiobotocore fsspec aiohttp
moto: boto3 botocore cryptography requests xmltodict werkzeug python-dateutil responses jinja2
aws-lambda-powertools: jmespath typing-extensions
aws-xray-sdk: wrapt botocore
aws-encryption-sdk: boto3 cryptography attrs wrapt
chalice: click botocore typing-extensions six pip attrs jmespath pyyaml inquirer wheel setuptools
flask: werkzeug jinja2 itsdangerous click blinker
flask-cors: flask
flask-sqlalchemy: flask sqlalchemy
flask-login: flask werkzeug
flask-migrate: flask flask-sqlalchemy alembic
flask-jwt-extended: flask werkzeug pyjwt
werkzeug: markupsafe
jinja2: markupsafe
mako: markupsafe
django: asgiref sqlparse
djangorestframework: django
django-cors-headers: django asgiref
aiohttp: aiohappyeyeballs aiosignal attrs frozenlist multidict propcache yarl
aiosignal: frozenlist
yarl: idna multidict propcache
sqlalchemy: greenlet typing-extensions
alembic: sqlalchemy mako typing-extensions
sqlmodel: sqlalchemy pydantic
psycopg: typing-extensions
celery: kombu billiard vine click click-didyoumean click-repl click-plugins python-dateutil tzdata
kombu: amqp vine tzdata
amqp: vine
rq: click redis
motor: pymongo
pymongo: dnspython
mongoengine: pymongo
elasticsearch: elastic-transport
elastic-transport: urllib3 certifi
elasticsearch-dsl: elasticsearch python-dateutil typing-extensions
opensearch-py: urllib3 requests python-dateutil certifi events
pynamodb: botocore
pandas: numpy python-dateutil pytz tzdata
scikit-learn: numpy scipy joblib threadpoolctl
scikit-image: numpy scipy networkx pillow imageio tifffile packaging lazy-loader
scipy: numpy
matplotlib: contourpy cycler fonttools kiwisolver numpy packaging pillow pyparsing python-dateutil
seaborn: numpy pandas matplotlib
statsmodels: numpy scipy pandas patsy packaging
plotly: narwhals packaging
sympy: mpmath
numba: llvmlite numpy
xgboost: numpy scipy
lightgbm: numpy scipy
torch: filelock typing-extensions sympy networkx jinja2 fsspec
torchvision: numpy torch pillow
transformers: filelock huggingface-hub numpy packaging pyyaml regex requests tokenizers safetensors tqdm
tokenizers: huggingface-hub
huggingface-hub: filelock fsspec packaging pyyaml requests tqdm typing-extensions
sentence-transformers: transformers tqdm torch scikit-learn scipy huggingface-hub pillow typing-extensions
datasets: filelock numpy pyarrow dill pandas requests tqdm xxhash multiprocess fsspec huggingface-hub packaging pyyaml aiohttp
openai: anyio distro httpx jiter pydantic sniffio tqdm typing-extensions
anthropic: anyio distro httpx jiter pydantic sniffio typing-extensions docstring-parser
tiktoken: regex requests
langchain-core: jsonpatch langsmith packaging pydantic pyyaml tenacity typing-extensions
langchain: langchain-core langchain-text-splitters langsmith pydantic sqlalchemy requests pyyaml
langchain-text-splitters: langchain-core
langchain-community: langchain-core langchain sqlalchemy requests pyyaml aiohttp tenacity dataclasses-json pydantic-settings langsmith httpx-sse numpy
langchain-openai: langchain-core openai tiktoken
langchain-aws: langchain-core boto3 pydantic numpy
langsmith: httpx orjson packaging pydantic requests requests-toolbelt zstandard
jsonpatch: jsonpointer
nltk: click joblib regex tqdm
thefuzz: rapidfuzz
cryptography: cffi
cffi: pycparser
pyopenssl: cryptography typing-extensions
pyjwt[crypto]: cryptography
python-jose: ecdsa rsa pyasn1
python-jose[cryptography]: cryptography
ecdsa: six
rsa: pyasn1
pyasn1-modules: pyasn1
authlib: cryptography
jwcrypto: cryptography typing-extensions
passlib[bcrypt]: bcrypt
argon2-cffi: argon2-cffi-bindings
argon2-cffi-bindings: cffi
pynacl: cffi
paramiko: bcrypt cryptography pynacl
pysftp: paramiko
fabric: invoke paramiko decorator deprecated
msal: requests pyjwt cryptography
google-auth: cachetools pyasn1-modules rsa
google-api-core: googleapis-common-protos protobuf proto-plus google-auth requests
googleapis-common-protos: protobuf
proto-plus: protobuf
grpcio-status: grpcio googleapis-common-protos protobuf
grpcio-tools: grpcio protobuf setuptools
google-cloud-core: google-api-core google-auth
google-cloud-storage: google-auth google-api-core google-cloud-core google-resumable-media requests google-crc32c
google-cloud-bigquery: google-api-core google-auth google-cloud-core google-resumable-media packaging python-dateutil requests
google-cloud-pubsub: grpcio google-auth google-api-core proto-plus protobuf grpc-google-iam-v1 grpcio-status
google-cloud-firestore: google-api-core google-auth google-cloud-core proto-plus protobuf
google-cloud-secret-manager: google-api-core google-auth proto-plus protobuf grpc-google-iam-v1
google-api-python-client: httplib2 google-auth google-auth-httplib2 google-api-core uritemplate
google-auth-oauthlib: google-auth requests-oauthlib
google-generativeai: google-ai-generativelanguage google-api-core google-api-python-client google-auth protobuf pydantic tqdm typing-extensions
firebase-admin: cachecontrol google-api-core google-cloud-firestore google-cloud-storage pyjwt httpx
azure-core: requests six typing-extensions
azure-identity: azure-core cryptography msal msal-extensions typing-extensions
azure-storage-blob: azure-core cryptography typing-extensions isodate
azure-keyvault-secrets: azure-core isodate typing-extensions
azure-cosmos: azure-core typing-extensions
azure-servicebus: azure-core isodate typing-extensions
jsonschema: attrs jsonschema-specifications referencing rpds-py
jsonschema-specifications: referencing
referencing: attrs rpds-py typing-extensions
cattrs: attrs
marshmallow: packaging
dataclasses-json: marshmallow typing-inspect
typing-inspect: mypy-extensions typing-extensions
environs: python-dotenv marshmallow
email-validator: dnspython idna
beautifulsoup4: soupsieve typing-extensions
html5lib: six webencodings
bleach: webencodings
jsonpath-ng: ply
tldextract: idna requests requests-file filelock
python-docx: lxml typing-extensions
python-pptx: lxml pillow xlsxwriter typing-extensions
openpyxl: et-xmlfile
pdfplumber: pdfminer-six pillow pypdfium2
pdfminer-six: charset-normalizer cryptography
reportlab: pillow chardet
pytesseract: packaging pillow
qrcode: pypng
pendulum: python-dateutil tzdata
arrow: python-dateutil types-python-dateutil
dateparser: python-dateutil pytz regex tzlocal
babel: pytz
typer: click typing-extensions rich shellingham
rich: markdown-it-py pygments
markdown-it-py: mdurl
deprecated: wrapt
limits: deprecated packaging typing-extensions
slowapi: limits
sse-starlette: starlette anyio
strawberry-graphql: graphql-core typing-extensions python-dateutil packaging
graphene: graphql-core graphql-relay python-dateutil typing-extensions
ariadne: graphql-core starlette typing-extensions
importlib-metadata: zipp
sentry-sdk: urllib3 certifi
ddtrace: bytecode envier opentelemetry-api protobuf typing-extensions wrapt xmltodict
opentelemetry-api: importlib-metadata typing-extensions
opentelemetry-sdk: opentelemetry-api opentelemetry-semantic-conventions typing-extensions
stripe: requests typing-extensions
twilio: requests pyjwt aiohttp aiohttp-retry
sendgrid: python-http-client starkbank-ecdsa
slack-bolt: slack-sdk
pygithub: pynacl requests pyjwt typing-extensions urllib3 deprecated
python-gitlab: requests requests-toolbelt
gitpython: gitdb
gitdb: smmap
jira: defusedxml packaging requests requests-oauthlib requests-toolbelt typing-extensions pillow
docker: requests urllib3
kubernetes: certifi six python-dateutil pyyaml google-auth websocket-client requests requests-oauthlib oauthlib urllib3 durationpy
selenium: urllib3 trio trio-websocket certifi typing-extensions websocket-client
trio: attrs sortedcontainers idna outcome sniffio
playwright: pyee greenlet
scrapy: twisted cryptography cssselect itemloaders parsel pyopenssl queuelib service-identity w3lib zope-interface protego itemadapter packaging tldextract lxml defusedxml pydispatcher
parsel: cssselect jmespath lxml packaging w3lib
twisted: attrs automat constantly hyperlink incremental typing-extensions zope-interface
zope-interface: setuptools
gevent: greenlet zope-event zope-interface
eventlet: dnspython greenlet
geopandas: numpy pandas shapely pyproj packaging pyogrio
shapely: numpy
pyproj: certifi
geopy: geographiclib
pytest: iniconfig packaging pluggy
black: click mypy-extensions packaging pathspec platformdirs
mypy: mypy-extensions typing-extensions pathspec
flake8: mccabe pycodestyle pyflakes
pylint: astroid dill isort mccabe platformdirs tomlkit
faker: tzdata
freezegun: python-dateutil
responses: requests pyyaml urllib3
hypothesis: attrs sortedcontainers
deepdiff: orderly-set
glom: attrs boltons face
dynaconf:
loguru:
`
