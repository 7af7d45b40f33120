import { registry } from "@web/core/registry";

// A freelancer, logged out, applies on the public page from a phone: about them, home base by position,
// a skill with its level, a certificate with its scan, then the thank-you page.
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0];

registry.category("web_tour.tours").add("crowd_join_tour", {
    steps: () => [
        { trigger: ".o_crowd_join_form input[name=name]", run: "edit Tina Tour" },
        { trigger: ".o_crowd_join_form input[name=email]", run: "edit tina.tour@example.com" },
        { trigger: ".o_crowd_join_form input[name=phone]", run: "edit +41 79 555 77 88" },
        { trigger: ".o_crowd_join_form input[name=city]", run: "edit Bern" },
        { trigger: ".o_crowd_join_form input[name=latitude]", run: "edit 46.948" },
        { trigger: ".o_crowd_join_form input[name=longitude]", run: "edit 7.4474" },
        { trigger: ".o_crowd_join_form input[name=radius_km]", run: "edit 45" },
        {
            content: "declare the skill at the expert level",
            trigger: ".o_crowd_join_skills .row:has(label:contains(Join tour skill)) select",
            run() {
                const option = [...this.anchor.options].find((o) => o.textContent.includes("Join expert"));
                this.anchor.value = option.value;
                this.anchor.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        {
            content: "choose the certificate type",
            trigger: ".o_crowd_join_cert_0 select[name=cert_type_0]",
            run() {
                const option = [...this.anchor.options].find((o) => o.textContent.includes("Join safety pass"));
                this.anchor.value = option.value;
                this.anchor.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        { trigger: ".o_crowd_join_cert_0 input[name=cert_number_0]", run: "edit SAFE-77" },
        {
            content: "attach the scan of the certificate",
            trigger: ".o_crowd_join_cert_0 input[name=cert_file_0]",
            run() {
                const transfer = new DataTransfer();
                transfer.items.add(new File([new Uint8Array(PNG)], "safety-pass.png", { type: "image/png" }));
                this.anchor.files = transfer.files;
            },
        },
        { trigger: ".o_crowd_join_submit", run: "click" },
        { trigger: ".o_crowd_join_thanks", content: "the application is received" },
    ],
});
