import { render } from "preact";
import { Console } from "./console";

const root = document.getElementById("console");
if (root) render(<Console />, root);
