from shop.orders import place
import shop.payments


def handler(event, context):
    return place(event)
