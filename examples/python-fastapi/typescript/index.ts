import { orders } from "./orders";

export = orders("../backend");
