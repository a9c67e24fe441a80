export interface Product {
  id: string;
  name: string;
  priceCents: number;
}

const catalog: Product[] = [
  { id: "1", name: "Espresso cup", priceCents: 900 },
  { id: "2", name: "Milk jug", priceCents: 1_500 },
  { id: "3", name: "Tamper", priceCents: 2_400 },
  { id: "4", name: "Grinder", priceCents: 12_900 },
  { id: "5", name: "Scale", priceCents: 3_900 },
];

/** Stands in for your database: a slow lookup worth caching. */
export async function findProduct(id: string): Promise<Product | undefined> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  return catalog.find((product) => product.id === id);
}
