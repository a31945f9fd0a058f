import express, { Request, Response } from "express";

const app = express();
const port = Number(process.env.PORT ?? 8080);

app.get("/", (_req: Request, res: Response) => {
  res.json({ service: "node-typescript", status: "ok" });
});

app.listen(port, () => {
  console.log(`listening on ${port}`);
});
