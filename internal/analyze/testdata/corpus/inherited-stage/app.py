import sqlalchemy
import greenlet
import psycopg2
import pymysql


def handler(event, context):
    return sqlalchemy.__version__
